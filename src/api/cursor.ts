/**
 * `MMapCursor`: Python's file-like `mmap` object (read, write, seek, find,
 * readline, ...) over an `MMap`, with CPython's semantics, so that code
 * written against Python's `mmap` ports line by line.
 */
import { byteArg, bytesArg, clampIndex, indexArg, integerArg, needleArg, optionalIntegerArg } from "./cursor-args.js";
import {
  type CodedError,
  detachedError,
  ErrorCodes,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  readOnlyError,
  unmappedError,
} from "./errors.js";
import { MMap, type NodeBuffer } from "./mmap.js";

/** `seek(pos, SEEK_SET)`: `pos` is from the first byte of the map (Python's `os.SEEK_SET`). */
export const SEEK_SET = 0;
/** `seek(pos, SEEK_CUR)`: `pos` is from the current position (Python's `os.SEEK_CUR`). */
export const SEEK_CUR = 1;
/** `seek(pos, SEEK_END)`: `pos` is from the end of the map (Python's `os.SEEK_END`). */
export const SEEK_END = 2;

/** Where {@link MMapCursor.seek} counts from: {@link SEEK_SET}, {@link SEEK_CUR} or {@link SEEK_END}. */
export type Whence = typeof SEEK_SET | typeof SEEK_CUR | typeof SEEK_END;

// MMap's own methods, taken once: a property the caller put on a map instance never runs.
const asBuffer = MMap.prototype.asBuffer;
const fileSize = MMap.prototype.fileSize;
const getter = (key: string) => Object.getOwnPropertyDescriptor(MMap.prototype, key)?.get as (this: MMap) => unknown;
const unmappedOf = getter("unmapped");
const pagesWritableOf = getter("pagesWritable");

/**
 * A file-like cursor over an {@link MMap}: Python's `mmap` object, whose
 * methods read and write at a position that moves as they do. Made with
 * `new MMapCursor(m)`; any number of cursors may share a map, each with its
 * own position, which starts at 0.
 *
 * Semantics are CPython's (`Modules/mmapmodule.c`): `read`, `readline` and
 * `readByte` stop at the end of the map; `write`, `writeByte` and `move`
 * never write past it (a `RangeError` `ERR_OUT_OF_RANGE`, nothing written,
 * where Python raises `ValueError`); `find` and `rfind` take Python's
 * `start` and `end`, negative ones included. What `read` and `readline`
 * return is a copy, valid after the map is unmapped.
 *
 * Arguments are checked before anything is read or written, and never
 * converted: a number must be a `number` (an object's `valueOf` is not
 * called, so it cannot unmap the map halfway), an integer where one is
 * meant (`ERR_OUT_OF_RANGE` otherwise, where Python raises `TypeError` for a
 * float). After {@link MMap.unmap} every method throws `ERR_MMAP_UNMAPPED`,
 * and after the map's memory moved (`transfer()`) `ERR_MMAP_DETACHED`.
 *
 * `m.resize(n)` returns a new map and unmaps `m`: a cursor over `m` then
 * throws `ERR_MMAP_UNMAPPED`. Make a cursor over the new map, and carry the
 * position over if you need it:
 * `const next = new MMapCursor(bigger); next.seek(cursor.tell())`
 * (read `tell()` before resizing).
 *
 * @example Read a file line by line, then look for a word
 * ```ts
 * import { mapFile, MMapCursor } from "portable-mmap";
 *
 * using m = mapFile("log.txt");
 * const log = new MMapCursor(m);
 * for (const line of log) console.log(line.toString().trimEnd());
 * const at = log.find("ERROR", 0); // -1 where it is not found
 * if (at !== -1) {
 *   log.seek(at);
 *   console.log(log.readline().toString());
 * }
 * ```
 */
export class MMapCursor implements Iterable<NodeBuffer> {
  readonly #map: MMap;
  /** The position, from 0 to the map's length (which never changes while the map is live). */
  #pos = 0;

  /**
   * A cursor at position 0 of `map`.
   *
   * @param map The map to read and write; the cursor neither owns nor
   * unmaps it.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for anything but an `MMap`.
   */
  constructor(map: MMap) {
    try {
      Reflect.apply(unmappedOf, map, []); // only a real MMap has the private state this reads
    } catch {
      throw invalidArgType("map", "an instance of MMap", map);
    }
    this.#map = map;
  }

  /** The map this cursor reads and writes. */
  get map(): MMap {
    return this.#map;
  }

  /**
   * The map's length in bytes (Python's `len(m)`).
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   */
  get length(): number {
    return this.#bytes("length").length;
  }

  /**
   * The size of the file behind the map, as the system reports it now
   * (Python's `m.size()`): {@link MMap.fileSize}. An `ANON` map's is its
   * length; a file map must be made with `mapFile(path, { keepOpen: true })`.
   *
   * @throws `Error` `ERR_MMAP_NO_FILE` for a file map that does not keep its
   * file open; the errors of {@link MMap.fileSize}.
   */
  size(): number {
    return Reflect.apply(fileSize, this.#map, []) as number;
  }

  /**
   * The current position (Python's `m.tell()`).
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or
   * `ERR_MMAP_FAULT`, as {@link MMapCursor.length}.
   */
  tell(): number {
    this.#bytes("tell");
    return this.#pos;
  }

  /**
   * Moves the position (Python's `m.seek(pos, whence)`), to exactly the end
   * of the map at most.
   *
   * @param pos An integer: the new position, or an offset from where
   * `whence` says (negative from the current position or the end).
   * @param whence {@link SEEK_SET} (0, the default), {@link SEEK_CUR} (1) or
   * {@link SEEK_END} (2).
   * @returns The new position (as Python 3.13 returns it).
   * @throws `RangeError` `ERR_OUT_OF_RANGE` for a position before 0 or past
   * the end, or a `pos` that is not an integer; `TypeError`
   * `ERR_INVALID_ARG_TYPE` for a `pos` or `whence` that is not a number,
   * `ERR_INVALID_ARG_VALUE` for another `whence`. The position is unchanged.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  seek(pos: number, whence: Whence = SEEK_SET): number {
    const offset = integerArg("pos", pos);
    if (typeof whence !== "number") throw invalidArgType("whence", "of type number", whence);
    if (whence !== SEEK_SET && whence !== SEEK_CUR && whence !== SEEK_END) {
      throw invalidArgValue("whence", whence, "must be SEEK_SET (0), SEEK_CUR (1) or SEEK_END (2)");
    }
    const length = this.#bytes("seek").length;
    const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? this.#pos : length;
    const where = base + offset;
    if (where < 0 || where > length) throw outOfRange("pos", `>= ${-base} && <= ${length - base}`, offset);
    this.#pos = where;
    return where;
  }

  /**
   * Reads up to `n` bytes from the position and moves past them (Python's
   * `m.read(n)`): fewer at the end of the map, none past it.
   *
   * @param n How many bytes; omitted, `null` or negative: all to the end.
   * @returns A copy (a `Buffer`), which stays valid after `unmap()`.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` for an `n` that is not an
   * integer; `TypeError` `ERR_INVALID_ARG_TYPE` for one that is not a number.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  read(n?: number | null): NodeBuffer {
    const count = optionalIntegerArg("n", n) ?? -1;
    const bytes = this.#bytes("read");
    const start = this.#pos;
    const end = count < 0 ? bytes.length : Math.min(start + count, bytes.length);
    this.#pos = end;
    return copy(bytes, start, end);
  }

  /**
   * Reads one byte and moves past it (Python's `m.read_byte()`).
   *
   * @returns The byte, 0 to 255.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` at the end of the map.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  readByte(): number {
    const bytes = this.#bytes("readByte");
    if (this.#pos >= bytes.length) throw outOfRange("position", `< ${bytes.length} to read a byte`, this.#pos);
    return bytes[this.#pos++] as number;
  }

  /**
   * Reads to the next `\n`, included, or to the end of the map, and moves
   * past it (Python's `m.readline()`). An empty result means the end.
   *
   * @returns A copy (a `Buffer`), which stays valid after `unmap()`.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   * @example Every line, as Python's iter(m.readline, b"") gives them
   * ```ts
   * const cursor = new MMapCursor(m);
   * for (let line = cursor.readline(); line.length > 0; line = cursor.readline()) {
   *   console.log(line.toString("utf8"));
   * }
   * ```
   */
  readline(): NodeBuffer {
    const bytes = this.#bytes("readline");
    const start = this.#pos;
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline + 1;
    this.#pos = end;
    return copy(bytes, start, end);
  }

  /**
   * The lines from the position on, each read by {@link MMapCursor.readline}
   * (so the position moves with them), until the end of the map. This is how
   * a Python file object iterates; iterating Python's `mmap` itself gives
   * single bytes instead (`for (const b of m)` over the `MMap` does that).
   *
   * @throws As {@link MMapCursor.readline}, from the step that finds the map
   * unmapped.
   */
  *[Symbol.iterator](): Generator<NodeBuffer, void, undefined> {
    for (let line = this.readline(); line.length > 0; line = this.readline()) yield line;
  }

  /**
   * Writes `data` at the position and moves past it (Python's `m.write(data)`).
   * All of it fits or nothing is written. `data` may be a view of the same
   * map: overlapping bytes are copied as by `memmove`.
   *
   * @param data The bytes, or a string, written as UTF-8.
   * @returns The number of bytes written: all of them.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` where `data` does not fit before
   * the end of the map (nothing is written; Python raises `ValueError`).
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for `data` that is neither a
   * `Uint8Array` nor a string; `ERR_MMAP_READ_ONLY` where the map's pages do
   * not accept writes ({@link MMap.pagesWritable}).
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  write(data: Uint8Array | string): number {
    const source = bytesArg("data", data);
    const bytes = this.#writable("write");
    const room = bytes.length - this.#pos;
    if (source.length > room)
      throw outOfRange("data.length", `<= ${room} (the room after the position)`, source.length);
    bytes.set(source, this.#pos);
    this.#pos += source.length;
    return source.length;
  }

  /**
   * Writes one byte at the position and moves past it (Python's
   * `m.write_byte(b)`).
   *
   * @param b An integer from 0 to 255.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` at the end of the map (nothing
   * is written), or for a `b` out of 0 to 255.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for a `b` that is not a number;
   * `ERR_MMAP_READ_ONLY` where the map's pages do not accept writes.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  writeByte(b: number): void {
    const value = byteArg("b", b);
    const bytes = this.#writable("writeByte");
    if (this.#pos >= bytes.length) throw outOfRange("position", `< ${bytes.length} to write a byte`, this.#pos);
    bytes[this.#pos++] = value;
  }

  /**
   * The lowest index at which `sub` occurs within `[start, end)` of the map,
   * or -1 (Python's `m.find(sub, start, end)`). Searched natively, as
   * `Buffer.indexOf`, with no copy of the map.
   *
   * @param sub The bytes to find: a `Uint8Array` (a view of the same map
   * too), a string (as UTF-8), or one byte as a number from 0 to 255. An
   * empty `sub` is found at `start`.
   * @param start The first index searched; default the current position (as
   * in Python). Negative counts from the end; clamped to the map.
   * @param end Where the match must end by; default the end of the map.
   * Negative counts from the end; clamped to the map.
   * @returns The index from the start of the map, or -1. The position does
   * not move.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for a `sub`, `start` or `end`
   * of another type; `RangeError` `ERR_OUT_OF_RANGE` for a byte out of 0 to
   * 255, or a `start` or `end` that is not a safe integer.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   * @example
   * ```ts
   * const c = new MMapCursor(m); // the map holds "one two ones"
   * c.find("one"); // 0
   * c.find("one", 1); // 8
   * c.find("one", 1, -2); // -1: "ones" ends past index 10
   * c.find(0x20); // 3: a byte
   * ```
   */
  find(sub: Uint8Array | string | number, start?: number | null, end?: number | null): number {
    const [bytes, needle, from, to] = this.#window("find", sub, start, end);
    if (to < from) return -1;
    if (typeof needle !== "number" && needle.length === 0) return from;
    const at = bytes.subarray(from, to).indexOf(needle);
    return at === -1 ? -1 : from + at;
  }

  /**
   * The highest index at which `sub` occurs within `[start, end)` of the
   * map, or -1 (Python's `m.rfind(sub, start, end)`); as
   * `Buffer.lastIndexOf`, with no copy. The arguments are those of
   * {@link MMapCursor.find}; an empty `sub` is found at `end`.
   *
   * @param sub The bytes to find: a `Uint8Array`, a string (as UTF-8) or one byte.
   * @param start The first index searched; default the current position.
   * @param end Where the match must end by; default the end of the map.
   * @returns The index from the start of the map, or -1.
   * @throws As {@link MMapCursor.find}.
   * @example
   * ```ts
   * const c = new MMapCursor(m); // the map holds "one two ones"
   * c.rfind("one"); // 8
   * c.rfind("one", 0, -2); // 0
   * ```
   */
  rfind(sub: Uint8Array | string | number, start?: number | null, end?: number | null): number {
    const [bytes, needle, from, to] = this.#window("rfind", sub, start, end);
    if (to < from) return -1;
    if (typeof needle !== "number" && needle.length === 0) return to;
    const at = bytes.subarray(from, to).lastIndexOf(needle);
    return at === -1 ? -1 : from + at;
  }

  /**
   * Copies `count` bytes from index `src` to index `dest` (Python's
   * `m.move(dest, src, count)`); the ranges may overlap. Unlike
   * `copyWithin`, which clamps, a range that does not fit is an error. The
   * position does not move.
   *
   * @param dest Where the bytes go, from 0 to the map's length.
   * @param src Where they come from, from 0 to the map's length.
   * @param count How many, such that both ranges end by the end of the map.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` for a negative or fractional
   * argument or a range past the end (nothing is moved); `TypeError`
   * `ERR_INVALID_ARG_TYPE` for one that is not a number; `ERR_MMAP_READ_ONLY`
   * where the map's pages do not accept writes.
   * @throws `Error` `ERR_MMAP_UNMAPPED`, `ERR_MMAP_DETACHED` or `ERR_MMAP_FAULT`.
   */
  move(dest: number, src: number, count: number): void {
    const to = integerArg("dest", dest);
    const from = integerArg("src", src);
    const n = integerArg("count", count);
    const bytes = this.#writable("move");
    indexArg("dest", to, bytes.length);
    indexArg("src", from, bytes.length);
    indexArg("count", n, bytes.length - Math.max(to, from));
    bytes.copyWithin(to, from, from + n);
  }

  /**
   * The map's bytes, the needle and Python's clamped `[start, end)` of `find`
   * and `rfind`; the arguments are checked before the map is.
   */
  #window(method: string, sub: unknown, start: unknown, end: unknown): [Buffer, number | Uint8Array, number, number] {
    const needle = needleArg(sub);
    const from = optionalIntegerArg("start", start);
    const to = optionalIntegerArg("end", end);
    const bytes = this.#bytes(method);
    const length = bytes.length;
    return [
      bytes,
      needle,
      from === undefined ? this.#pos : clampIndex(from, length),
      to === undefined ? length : clampIndex(to, length),
    ];
  }

  /** The map as a Buffer over its memory; the map's own error, naming the cursor's method, if it cannot be used. */
  #bytes(method: string): Buffer {
    try {
      return Reflect.apply(asBuffer, this.#map, []) as Buffer;
    } catch (error) {
      const code = (error as CodedError | undefined)?.code;
      if (code === ErrorCodes.UNMAPPED) throw unmappedError(`cursor.${method}`);
      if (code === ErrorCodes.DETACHED) throw detachedError(`cursor.${method}`);
      throw error;
    }
  }

  /** As `#bytes`, for a method that writes: refused where a write would fault the process. */
  #writable(method: string): Buffer {
    const bytes = this.#bytes(method);
    if (!Reflect.apply(pagesWritableOf, this.#map, [])) throw readOnlyError(`cursor.${method}`);
    return bytes;
  }
}

/** `bytes[start, end)` copied into a Buffer of its own (not a slice of Node's shared pool). */
function copy(bytes: Buffer, start: number, end: number): NodeBuffer {
  const out = Buffer.allocUnsafeSlow(end - start);
  bytes.copy(out, 0, start, end);
  return out as NodeBuffer;
}
