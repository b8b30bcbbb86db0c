/**
 * Linux's limit on the number of mappings of a process (`vm.max_map_count`,
 * 65,530 by default). A program that maps in a loop and relies on garbage
 * collection instead of `unmap()` reaches it before any finalizer runs, and
 * then the runtime's own allocations fail (V8 aborts the process). Maps are
 * refused with a clear ENOMEM well before that.
 */
import { readFileSync } from "node:fs";
import type { Backend } from "../backends/contract.js";
import { systemError } from "./errors.js";
import { readEnv } from "./setting.js";

/** Mappings left for the runtime itself (V8's heap, code, threads' stacks, shared libraries). */
const RESERVED = 4096;

/** Lowers the limit of live maps (a positive integer); for programs that want to fail early, and for tests. */
export const MAX_MAPS_ENV = "PORTABLE_MMAP_MAX_MAPS";

/** The limit `PORTABLE_MMAP_MAX_MAPS` asks for, if it is set to a positive integer (unreadable in Deno without --allow-env). */
function requested(): number | undefined {
  const value = readEnv(MAX_MAPS_ENV);
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

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
  limit = Math.min(limit, requested() ?? limit);
  return limit;
}

// Maps being made to replace a live one (resize): each may pass the limit by one, as it adds none.
let replacing = 0;

/** Runs `make`, which maps a region that replaces a live map (`resize()`): the limit lets that one map through. */
export function replacingMap<T>(make: () => T): T {
  replacing++;
  try {
    return make();
  } finally {
    replacing--;
  }
}

/** Throws ENOMEM when the backend's live maps already reach the limit (backends that count them). */
export function checkLimitOf(backend: Backend): void {
  if (backend.counters) checkMapCount(backend.counters[1] as number, replacing > 0 ? 1 : 0);
}

/** Throws ENOMEM when `live` maps already reach the limit (passed by `over`). */
export function checkMapCount(live: number, over = 0): void {
  if (live < mapLimit() + over) return;
  const error = systemError("ENOMEM", "mmap");
  error.message += `: ${live} maps are live, close to the limit of mappings per process (vm.max_map_count, or ${MAX_MAPS_ENV}); call unmap() on maps no longer needed (garbage collection releases dropped maps only eventually)`;
  throw error;
}
