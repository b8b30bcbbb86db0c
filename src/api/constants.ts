/**
 * Protection and flag values, the same numbers as Go's mmap-go so that its
 * users recognise them.
 */

/** Map read-only. A stray write never faults the process; it changes only this process's view. */
export const RDONLY = 0;
/** Map read-write; writes reach the file (after `flush()`, or at `unmap()` at the latest). */
export const RDWR = 2;
/** Map copy-on-write; writes stay in this process and never reach the file. */
export const COPY = 4;
/** Also allow executing the mapped bytes; combines with RDONLY, RDWR or COPY. */
export const EXEC = 8;
/** Flag: map zero-filled anonymous memory, not a file (`file` is ignored, `length` must be > 0). */
export const ANON = 1;
