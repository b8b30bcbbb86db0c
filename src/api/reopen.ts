/**
 * Reopening the file behind a descriptor through /proc/self/fd (Linux) or
 * /dev/fd (macOS, the BSDs). The fallback backend does it for a descriptor of
 * its own; `file.ts` does it to truncate a descriptor the runtime's `node:fs`
 * refuses (Deno, for one a backend opened with `shm_open`).
 */
import { closeSync, openSync } from "node:fs";

/** A descriptor from {@link reopen}. */
export interface Reopened {
  readonly fd: number;
  /**
   * Opened as a new open file description (/proc/self/fd on Linux), so
   * without the original's O_APPEND. Opening /dev/fd/N on macOS and the BSDs
   * duplicates the original descriptor instead, O_APPEND included.
   */
  readonly fresh: boolean;
}

/**
 * Opens the file behind `fd` read-write anew, keeping the first descriptor
 * that `accept` takes (the others are closed). Throws the error of the last
 * attempt to open (EMFILE, EACCES, ...), or ENOENT, where none is kept.
 */
export function reopen(fd: number, accept: (own: number) => boolean = () => true): Reopened {
  let failure: unknown = Object.assign(new Error("ENOENT: no such file or directory, open '/dev/fd'"), {
    code: "ENOENT",
    errno: -2,
    syscall: "open",
  });
  for (const dir of ["/proc/self/fd", "/dev/fd"]) {
    let own: number;
    try {
      own = openSync(`${dir}/${fd}`, "r+");
    } catch (error) {
      failure = error;
      continue;
    }
    if (accept(own)) return { fd: own, fresh: dir === "/proc/self/fd" };
    closeSync(own);
  }
  throw failure;
}
