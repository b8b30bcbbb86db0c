/**
 * A descriptor of the fallback backend's own for writing back, so that the
 * caller may close theirs right after map(), as with a real mapping.
 */
import * as fs from "node:fs";

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
 * /dev/fd (macOS, the BSDs). Returns the new descriptor, or -1 where neither works.
 */
export function openOwnDescriptor(fd: number): number {
  const identity = fs.fstatSync(fd, { bigint: true });
  for (const dir of ["/proc/self/fd", "/dev/fd"]) {
    let own = -1;
    try {
      own = fs.openSync(`${dir}/${fd}`, "r+");
    } catch {
      continue;
    }
    if (sameFile(own, identity)) return own;
    fs.closeSync(own);
  }
  return -1;
}
