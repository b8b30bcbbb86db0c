/**
 * What the suite's worker threads (worker.ts) are asked to do, and how the
 * tests count what a file holds in this process (Linux /proc).
 */
import * as fs from "node:fs";

/**
 * Map the file (whole, or only `[from, to)` at its unaligned offset), say
 * "mapped", wait for the go (Atomics on `go`), store `value` over
 * `[from, to)`, flush, end without unmap().
 */
export interface WriteRange {
  task: "write-range";
  file: string;
  from: number;
  to: number;
  value: number;
  /** Map only `[from, to)` with mapRegion, rather than the whole file with mapFile. */
  region: boolean;
  /** Int32Array over a SharedArrayBuffer: the parent sets [0] to 1 once every worker has mapped. */
  go: Int32Array;
}

/**
 * Map the file RDONLY, RDWR and COPY, store `value` at byte 0 through the
 * RDWR map, say "mapped" with the file's mappings, and end without unmap():
 * `natural` (returns), `exit` (process.exit()), `terminate` (waits for the
 * parent's worker.terminate()), `pending` (unmaps the RDWR map during a
 * flushAsync and returns without waiting for it), `pending-exit` (the same,
 * then process.exit()).
 */
export interface LeaveMapped {
  task: "leave-mapped";
  file: string;
  value: number;
  end: "natural" | "exit" | "terminate" | "pending" | "pending-exit";
}

/**
 * Map the file RDWR, move the map's memory into another ArrayBuffer (a BYOB
 * read), post that buffer to the parent with a transfer list, and end when
 * the parent says so (`natural`: the worker returns) or by the parent's
 * worker.terminate() (`terminate`). The map stays referenced to the end.
 */
export interface PostMoved {
  task: "post-moved";
  file: string;
  end: "natural" | "terminate";
}

/** Map `count` pages of the file and report how many were mapped before one was refused, and with which code; then unmap them. */
export interface HoldMaps {
  task: "hold-maps";
  file: string;
  count: number;
}

/** Open the shared memory segment `name` and count in it (shared-memory-tasks.ts `addInSegment`). */
export interface SharedAdd {
  task: "shm-add";
  name: string;
  parties: number;
  count: number;
}

/** The lines of /proc/self/maps that map `file`. */
export function mappingsOf(file: string): number {
  return fs
    .readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((line) => line.endsWith(file)).length;
}

/** The process's open descriptors of `file`. */
export function descriptorsOf(file: string): number {
  return fs.readdirSync("/proc/self/fd").filter((n) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
    } catch {
      return false;
    }
  }).length;
}
