/**
 * How much `POPULATE` may prefault. It is a hint, and a hint must never end
 * the process: prefaulting anonymous memory, or a sparse file of a memory
 * file system (tmpfs, /dev/shm), allocates it, and beyond the memory
 * available the kernel's out-of-memory killer ends the process inside
 * `map`. Prefaulting more than fits in memory would also be wasted: the
 * first pages would be evicted before the last were read. So the hint is
 * followed only for regions of at most half the memory available now.
 */
import { freemem } from "node:os";

/**
 * The memory available now, in bytes: the system's (Linux: MemAvailable),
 * and within the process's control group limit where it has one; Infinity
 * where the runtime cannot tell (Deno without --allow-sys).
 */
export function availableMemory(): number {
  let available = Number.POSITIVE_INFINITY;
  try {
    available = freemem();
  } catch {
    // not readable here
  }
  try {
    const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
    // Node reports "no limit" as 0 or as a huge number.
    if (limit !== undefined && limit > 0 && limit < 2 ** 53) {
      available = Math.min(available, Math.max(0, limit - process.memoryUsage.rss()));
    }
  } catch {
    // no control group information here
  }
  return available;
}

/** Whether to prefault a region of `length` bytes, given the memory `available`. */
export function populateFits(length: number, available: number = availableMemory()): boolean {
  return length <= available / 2;
}
