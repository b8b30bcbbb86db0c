/**
 * Positioned reads and writes of any length. `fs.readSync` and `fs.writeSync`
 * take an int32 length (a region of 2 GiB or more cannot go in one call), and
 * Linux moves at most 2 GiB - 4 KiB per call anyway, so both work in chunks.
 */
import * as fs from "node:fs";

/** The most bytes one call reads or writes. */
const CHUNK = 2 ** 30;

/**
 * Reads the file from `position` into all of `target`, or up to the end of
 * the file if that comes first (the rest of `target` is left as it was).
 * Returns the number of bytes read.
 */
export function readAt(fd: number, target: Uint8Array, position: number): number {
  let done = 0;
  while (done < target.length) {
    const chunk = target.subarray(done, done + CHUNK);
    const n = fs.readSync(fd, chunk, 0, chunk.length, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `source` to the file at `position`. */
export function writeAt(fd: number, source: Uint8Array, position: number): void {
  let done = 0;
  while (done < source.length) {
    const chunk = source.subarray(done, done + CHUNK);
    done += fs.writeSync(fd, chunk, 0, chunk.length, position + done);
  }
}
