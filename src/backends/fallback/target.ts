/**
 * Where a shared (RDWR) fallback map writes its changes back: a descriptor
 * of the backend's own where the file can be reopened, so that the caller
 * may close theirs right after map(), as with a real mapping; else the
 * caller's.
 */
import * as fs from "node:fs";
import { fromNodeError } from "../../api/errors.js";
import { openOwnDescriptor } from "./descriptor.js";
import { appendError, type Placement, placementOf } from "./placement.js";

/** The descriptor a map writes back through, and what is known about it. */
export interface WriteTarget {
  readonly fd: number;
  /** Whether `fd` is the backend's own, to close when the map is released. */
  readonly own: boolean;
  /** The caller's file, to refuse writing if their descriptor was closed and its number reused. */
  readonly identity?: fs.BigIntStats;
  /** Whether positioned writes through `fd` land where asked. */
  readonly placement: Placement;
}

/** Errors of a reopen that mean the kernel checked permissions again and said no. */
const denied = new Set(["EACCES", "EPERM"]);

/**
 * Chooses the descriptor a shared map of the caller's writable `fd` writes
 * back through. Throws EACCES if that descriptor is known to be in append
 * mode, and the reopen's error if it fails for another reason than
 * permissions (EMFILE, ...): then the caller would have to keep their
 * descriptor open without knowing it.
 *
 * @param reopen Whether this host lets the backend reopen files (`needsDescriptor` is false).
 */
export function writeTarget(fd: number, reopen: boolean): WriteTarget {
  if (reopen) {
    try {
      const own = openOwnDescriptor(fd);
      // A fresh descriptor is opened "r+": never in append mode. A duplicate shares the caller's mode.
      return { fd: own.fd, own: true, placement: own.fresh ? "positioned" : "unknown" };
    } catch (error) {
      // Opening /proc/self/fd/N checks permissions again: it fails for a file whose mode changed
      // since the caller opened it, or a descriptor from a more privileged process. The caller's
      // descriptor is writable (the backend checked), so this map writes through it.
      if (!denied.has((error as NodeJS.ErrnoException).code ?? "")) throw fromNodeError(error, "mmap");
    }
  }
  const placement = placementOf(fd);
  if (placement === "append") throw appendError("mmap");
  let identity: fs.BigIntStats;
  try {
    identity = fs.fstatSync(fd, { bigint: true });
  } catch (error) {
    throw fromNodeError(error, "mmap");
  }
  return { fd, own: false, identity, placement };
}
