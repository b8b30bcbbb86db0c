/**
 * Python's `mmap` cursor, written the naive way (byte loops over a plain
 * array), for the cursor tests to compare `MMapCursor` with. Semantics from
 * CPython's `Modules/mmapmodule.c`; nothing here shares code with the library.
 */

/** Python's slice index for `find`/`rfind`: negative from the end, clamped to [0, length]. */
function clamp(index: number, length: number): number {
  let i = index < 0 ? index + length : index;
  if (i < 0) i = 0;
  if (i > length) i = length;
  return i;
}

function matchesAt(data: Uint8Array, sub: Uint8Array, at: number): boolean {
  for (let k = 0; k < sub.length; k++) if (data[at + k] !== sub[k]) return false;
  return true;
}

/** `m.find(sub, start, end)` with the cursor at `pos` (`start` defaults to it). */
export function pyFind(data: Uint8Array, sub: Uint8Array, pos: number, start?: number, end?: number): number {
  const s = start === undefined ? pos : clamp(start, data.length);
  const e = end === undefined ? data.length : clamp(end, data.length);
  for (let i = s; i + sub.length <= e; i++) if (matchesAt(data, sub, i)) return i;
  return -1;
}

/** `m.rfind(sub, start, end)` with the cursor at `pos`. */
export function pyRfind(data: Uint8Array, sub: Uint8Array, pos: number, start?: number, end?: number): number {
  const s = start === undefined ? pos : clamp(start, data.length);
  const e = end === undefined ? data.length : clamp(end, data.length);
  for (let i = e - sub.length; i >= s; i--) if (matchesAt(data, sub, i)) return i;
  return -1;
}

/** What a step did: its result, or the class and code of what it threw. */
export type Outcome = { value: unknown } | { error: string };

/** The cursor's state in the model: the bytes and the position. */
export class CursorModel {
  pos = 0;
  constructor(readonly data: Uint8Array) {}

  seek(offset: number, whence: 0 | 1 | 2): Outcome {
    const base = whence === 0 ? 0 : whence === 1 ? this.pos : this.data.length;
    const where = base + offset;
    if (where < 0 || where > this.data.length) return { error: "RangeError ERR_OUT_OF_RANGE" };
    this.pos = where;
    return { value: where };
  }

  read(n?: number): Outcome {
    const end = n === undefined || n < 0 ? this.data.length : Math.min(this.pos + n, this.data.length);
    const out = Array.from(this.data.subarray(this.pos, end));
    this.pos = Math.max(this.pos, end);
    return { value: out };
  }

  readByte(): Outcome {
    if (this.pos >= this.data.length) return { error: "RangeError ERR_OUT_OF_RANGE" };
    return { value: this.data[this.pos++] };
  }

  readline(): Outcome {
    let end = this.pos;
    while (end < this.data.length && this.data[end] !== 10) end++;
    if (end < this.data.length) end++;
    const out = Array.from(this.data.subarray(this.pos, end));
    this.pos = end;
    return { value: out };
  }

  write(bytes: Uint8Array): Outcome {
    if (bytes.length > this.data.length - this.pos) return { error: "RangeError ERR_OUT_OF_RANGE" };
    for (let k = 0; k < bytes.length; k++) this.data[this.pos + k] = bytes[k] as number;
    this.pos += bytes.length;
    return { value: bytes.length };
  }

  writeByte(b: number): Outcome {
    if (this.pos >= this.data.length) return { error: "RangeError ERR_OUT_OF_RANGE" };
    this.data[this.pos++] = b;
    return { value: undefined };
  }

  move(dest: number, src: number, count: number): Outcome {
    const n = this.data.length;
    if (dest < 0 || src < 0 || count < 0 || dest > n || src > n || n - dest < count || n - src < count) {
      return { error: "RangeError ERR_OUT_OF_RANGE" };
    }
    const moved = this.data.slice(src, src + count);
    for (let k = 0; k < count; k++) this.data[dest + k] = moved[k] as number;
    return { value: undefined };
  }
}
