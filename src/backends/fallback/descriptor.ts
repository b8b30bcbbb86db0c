/**
 * A descriptor of the fallback backend's own for writing back, so that the
 * caller may close theirs right after map(), as with a real mapping.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { type Reopened, reopen } from "../../api/reopen.js";
import { descriptorFlags } from "./fdinfo.js";

/** Whether `fd` still refers to the file `identity` was taken from. */
export function sameFile(fd: number, identity: fs.BigIntStats): boolean {
  try {
    const now = fs.fstatSync(fd, { bigint: true });
    return now.dev === identity.dev && now.ino === identity.ino;
  } catch {
    return false;
  }
}

/**
 * Reopens the file behind `fd` read-write through /proc/self/fd (Linux) or
 * /dev/fd (macOS, the BSDs), making sure it is the same file. Throws the
 * error of the last attempt (EMFILE, EACCES, ...) where neither works.
 */
export function openOwnDescriptor(fd: number): Reopened {
  const identity = fs.fstatSync(fd, { bigint: true });
  return reopen(fd, (own) => sameFile(own, identity));
}

/**
 * Whether this process may reopen a descriptor's file through /proc/self/fd
 * or /dev/fd. Deno refuses both without --allow-all; the backend then needs
 * the caller's descriptor until unmap, as on Windows.
 */
export function canReopen(): boolean {
  let fd = -1;
  try {
    fd = fs.openSync(os.devNull, "r+");
    fs.closeSync(openOwnDescriptor(fd).fd);
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** Deno answers every zero-length write with 0, even on a descriptor not open for writing. */
const deno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/**
 * Throws EBADF (as a write would) if `fd` is not open for writing. A
 * zero-length write tells on Node and Bun. Deno answers every zero-length
 * write with 0, so there the access mode comes from /proc/self/fdinfo; where
 * Deno refuses that (without --allow-all) the check cannot be made, and a
 * read-only descriptor shows only at the first flush (EBADF). The backend
 * never writes file bytes just to find out: that could undo another
 * process's write.
 */
export function assertWritable(fd: number, position: number): void {
  if (deno) {
    const flags = descriptorFlags(fd);
    if (flags !== undefined && (flags & 3) === 0) {
      throw Object.assign(new Error("EBADF: bad file descriptor, write"), { code: "EBADF" });
    }
    return;
  }
  fs.writeSync(fd, Buffer.alloc(0), 0, 0, position);
}
