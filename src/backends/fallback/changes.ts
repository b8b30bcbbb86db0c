/**
 * What a fallback map changed since it last wrote back: the byte runs where
 * its memory differs from a copy of what the file held. Only those bytes are
 * written, so a flush never puts back stale bytes over what another map or
 * process wrote (and flushed) meanwhile.
 */

const PAGE = 4096;

/** Bytes compared in one call before looking closer: large enough that the calls cost nothing next to memcmp. */
const BLOCK = 2 ** 20;

/**
 * The range is compared in windows of this many bytes, so that every offset
 * passed to a Buffer method stays below 2^31: Deno's take an int32.
 */
const WINDOW = 2 ** 30;

/**
 * Calls `write(start, end)` for each run of bytes in `[offset, offset + length)`
 * where `current` differs from `known`, in order, then copies the run into
 * `known`. Pages are compared whole first (memcmp), bytes only in changed pages.
 * `offset` is a page boundary.
 */
export function forEachChange(
  current: Uint8Array,
  known: Uint8Array,
  offset: number,
  length: number,
  write: (start: number, end: number) => void,
): void {
  const end = offset + length;
  for (let from = offset; from < end; from += WINDOW) {
    const to = Math.min(from + WINDOW, end);
    // A run that goes on past the window is written in two parts.
    changesIn(current.subarray(from, to), known.subarray(from, to), (start, stop) => write(from + start, from + stop));
  }
}

/**
 * forEachChange over the whole of `current` (at most one window long).
 * Compared first in blocks of BLOCK bytes, each one native memcmp, so that a
 * big map with few changes costs about one `Buffer.compare` over it; then
 * page by page inside a block that differs; then byte by byte inside a page
 * that differs.
 */
function changesIn(current: Uint8Array, known: Uint8Array, write: (start: number, end: number) => void): void {
  const end = current.length;
  const now = Buffer.from(current.buffer, current.byteOffset, current.byteLength);
  const was = Buffer.from(known.buffer, known.byteOffset, known.byteLength);
  let i = 0;
  while (i < end) {
    const blockEnd = Math.min(i - (i % BLOCK) + BLOCK, end);
    if (now.compare(was, i, blockEnd, i, blockEnd) === 0) {
      i = blockEnd;
      continue;
    }
    while (i < blockEnd) {
      const pageEnd = Math.min(i - (i % PAGE) + PAGE, end);
      if (now.compare(was, i, pageEnd, i, pageEnd) === 0) {
        i = pageEnd;
        continue;
      }
      while (i < pageEnd) {
        if (now[i] === was[i]) {
          i++;
          continue;
        }
        const start = i;
        while (i < end && now[i] !== was[i]) i++; // a run may go on into the next page or block
        write(start, i);
        was.set(now.subarray(start, i), start);
      }
    }
  }
}
