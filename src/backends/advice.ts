/**
 * Which `advise()` values reach a system call that acts on them, for the two
 * backends that make real mappings (the fallback's pages are plain memory,
 * so it acts on none).
 */
import type { Advice } from "./contract.js";

/**
 * - Linux: `posix_madvise`; glibc and musl make `POSIX_MADV_DONTNEED` a no-op
 *   (Linux's own `MADV_DONTNEED` would throw a private map's changes away),
 *   so `dontneed` does nothing there.
 * - Windows: only `willneed` has a counterpart (`PrefetchVirtualMemory`).
 * - macOS, FreeBSD and other POSIX systems: `posix_madvise` takes all five.
 */
export function systemAdvice(platform: string = process.platform): readonly Advice[] {
  if (platform === "win32") return Object.freeze(["willneed"]);
  if (platform === "linux") return Object.freeze(["normal", "random", "sequential", "willneed"]);
  return Object.freeze(["normal", "random", "sequential", "willneed", "dontneed"]);
}
