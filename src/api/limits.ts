/**
 * Linux's limit on the number of mappings of a process (`vm.max_map_count`,
 * 65,530 by default). A program that maps in a loop and relies on garbage
 * collection instead of `unmap()` reaches it before any finalizer runs, and
 * then the runtime's own allocations fail (V8 aborts the process). Maps are
 * refused with a clear ENOMEM well before that.
 */
import { readFileSync } from "node:fs";
import { systemError } from "./errors.js";

/** Mappings left for the runtime itself (V8's heap, code, threads' stacks, shared libraries). */
const RESERVED = 4096;

let limit: number | undefined;

/** How many live maps the process may hold: `vm.max_map_count` less a reserve; Infinity where there is no such limit. */
export function mapLimit(): number {
  if (limit !== undefined) return limit;
  limit = Number.POSITIVE_INFINITY;
  if (process.platform === "linux" || process.platform === "android") {
    try {
      const max = Number.parseInt(readFileSync("/proc/sys/vm/max_map_count", "utf8"), 10);
      if (max > 0) limit = Math.max(max - Math.max(RESERVED, Math.floor(max / 8)), Math.floor(max / 2));
    } catch {
      // /proc not readable here (Deno without --allow-read): no check.
    }
  }
  return limit;
}

/** Throws ENOMEM when `live` maps already reach the limit. */
export function checkMapCount(live: number): void {
  if (live < mapLimit()) return;
  const error = systemError("ENOMEM", "mmap");
  error.message += `: ${live} maps are live, close to the system's limit of mappings per process (vm.max_map_count); call unmap() on maps no longer needed (garbage collection releases dropped maps only eventually)`;
  throw error;
}
