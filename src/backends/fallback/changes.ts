/**
 * What a fallback map changed since it last wrote back: the byte runs where
 * its memory differs from a copy of what the file held. Only those bytes are
 * written, so a flush never puts back stale bytes over what another map or
 * process wrote (and flushed) meanwhile.
 */

const PAGE = 4096;

/**
 * Calls `write(start, end)` for each run of bytes in `[offset, offset + length)`
 * where `current` differs from `known`, in order, then copies the run into
 * `known`. Pages are compared whole first (memcmp), bytes only in changed pages.
 */
export function forEachChange(
  current: Uint8Array,
  known: Uint8Array,
  offset: number,
  length: number,
  write: (start: number, end: number) => void,
): void {
  const end = offset + length;
  const now = Buffer.from(current.buffer, current.byteOffset, current.byteLength);
  const was = Buffer.from(known.buffer, known.byteOffset, known.byteLength);
  let i = offset;
  while (i < end) {
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
      while (i < end && now[i] !== was[i]) i++; // a run may go on into the next page
      write(start, i);
      was.set(now.subarray(start, i), start);
    }
  }
}
