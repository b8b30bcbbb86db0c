/**
 * Whether positioned writes through a descriptor land where they are asked
 * to. On a descriptor in append mode they do not: Linux and macOS write at
 * the end of the file whatever the position (O_APPEND), and a Windows handle
 * opened for appending (Node's "a" and "a+") may not overwrite, so Windows
 * writes at the end too. Real maps are not affected: they write through the
 * page cache (and Windows refuses to map such a handle writable).
 */
import * as fs from "node:fs";
import { systemError } from "../../api/errors.js";
import { descriptorFlags } from "./fdinfo.js";
import { readAt, writeAt } from "./io.js";

/**
 * - `positioned`: writes land at their position;
 * - `append`: writes land at the end of the file, so the backend must not write through it;
 * - `unknown`: not known yet; the first write tells (see {@link writeFirstByte}).
 */
export type Placement = "positioned" | "append" | "unknown";

/** What the open flags say about `fd` (Linux), else `unknown`. */
export function placementOf(fd: number): Placement {
  const flags = descriptorFlags(fd);
  if (flags === undefined) return "unknown";
  return (flags & fs.constants.O_APPEND) !== 0 ? "append" : "positioned";
}

/** EACCES, as Windows refuses to map an append-only handle writable; the message says why. */
export function appendError(syscall: string): Error {
  const error = systemError("EACCES", syscall);
  error.message += " (the descriptor is in append mode: positioned writes through it land at the end of the file)";
  return error;
}

function sizeOf(fd: number): number {
  return fs.fstatSync(fd).size;
}

/**
 * Writes the first of `bytes` at `position`, alone, and tells from the file's
 * size where it went: `positioned` if at `position`, `append` if at the end
 * of the file, `unknown` where that is the same place (`position` is the end
 * of the file). Only one byte goes astray on a descriptor in append mode.
 */
export function writeFirstByte(fd: number, bytes: Uint8Array, position: number): Placement {
  const before = sizeOf(fd);
  writeAt(fd, bytes.subarray(0, 1), position);
  if (position === before) return "unknown";
  const after = sizeOf(fd);
  // A positioned write leaves the size at max(before, position + 1); an append makes it before + 1.
  if (after === Math.max(before, position + 1)) return "positioned";
  if (after === before + 1) return "append";
  // Someone else resized the file meanwhile: whether the byte is where it was written decides.
  const at = new Uint8Array(1);
  return readAt(fd, at, position) === 1 && at[0] === bytes[0] ? "positioned" : "append";
}
