/**
 * `MMap`: a Uint8Array over mapped memory, and the mapping's lifetime:
 * explicit unmap, no use after unmap or after the memory moved to another
 * buffer, unmap waiting for pending flushes, faults reported on the next call.
 */
import type { Advice, Backend, BackendName, Mapping } from "../backends/contract.js";
import { checkAdvice } from "./advice.js";
import { detachPlain, maxLength } from "./buffers.js";
import { ANON, type Checked, COPY, EXEC, type MapFlags, type PageProt, type Prot, RDONLY, RDWR } from "./constants.js";
import {
  type CodedError,
  detachedError,
  faultError,
  illegalConstructor,
  invalidArgType,
  invalidArgValue,
  lostChangesError,
  noFileError,
  outOfRange,
  unmappedError,
} from "./errors.js";
import { fileSize } from "./file.js";
import { adoptFd, closeOwnFd, dropOnCollection, finish, type State } from "./lifetime.js";
import { type Remap, resize } from "./resize.js";

/**
 * A byte range of an `MMap`, relative to its first byte (not the file's);
 * defaults to all of it. Used by {@link MMap.flush}, {@link MMap.flushAsync}
 * and {@link MMap.advise}.
 *
 * The rule: `offset` is an integer from 0 to the map's length (equal to the
 * length is an empty range, which does nothing), and `offset + length` must
 * not pass the end of the map: a range that does not fit is a `RangeError`
 * with code `ERR_OUT_OF_RANGE`, never clamped. Neither needs to be aligned:
 * the backend rounds to whole pages itself.
 */
export interface Range {
  /** First byte, default 0. */
  offset?: number;
  /** Number of bytes, default to the end of the map. */
  length?: number;
}

/** Options of {@link MMap.resize}. */
export interface ResizeOptions {
  /**
   * `true`: when the map shrinks, truncate the file to the new end of the
   * map (`fileOffset + newLength`) once the new map exists and the old one is
   * unmapped. Only for `RDWR` file maps. Default false: the file keeps its size.
   */
  truncate?: boolean;
}

/** Set by map.ts when it loads (before any map exists): how `resize` maps again. */
let remap: Remap | undefined;

/** @internal Called once by map.ts, which owns the map path. */
export function setRemap(mapAgain: Remap): void {
  remap = mapAgain;
}

/** @internal Everything an `MMap` needs to know about its mapping. Built by `src/api/map.ts`. */
export interface MMapInit {
  backend: Backend;
  /** The backend's handle, or undefined for an empty map (no system mapping exists). */
  handle: unknown;
  /** The whole mapping, from the aligned offset. */
  buffer: ArrayBuffer;
  /** Where the requested bytes start in `buffer`. */
  delta: number;
  length: number;
  prot: number;
  flags: number;
  fileOffset: number;
  /** Whether the pages accept writes (false for RDONLY|EXEC maps). */
  pagesWritable: boolean;
  /** A descriptor the map owns and closes when it is released. */
  fd?: number;
  /** `fd` was kept at the caller's request (`keepOpen`), for `fileSize()` and `resize()`. */
  fileKept?: boolean;
  /** A Windows named section's size, which never changes: what `fileSize()` reports (there is no descriptor). */
  segmentSize?: number;
}

declare global {
  interface SymbolConstructor {
    /**
     * The well-known symbol of `using` (TypeScript 5.2+). Declared here as
     * `@types/node` and TypeScript's `esnext.disposable` library declare it,
     * so that the published types need neither.
     */
    readonly dispose: unique symbol;
  }
}

const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for("nodejs.dispose");

/**
 * Node's `Buffer`, where the program's types declare it (`@types/node`, Bun's
 * or Deno's types); otherwise `Uint8Array`, which a `Buffer` is, so that the
 * published types need no `@types/node`. The type {@link MMap.asBuffer} returns.
 */
export type NodeBuffer = typeof globalThis extends {
  /** The global `Buffer` class. */
  Buffer: {
    /** What it allocates: a `Buffer`. */
    alloc(size: number): infer B;
  };
}
  ? B
  : Uint8Array;

/** Reads a user-supplied range once (getters run once), before anything is checked. */
function readRange(range: Range | undefined): [unknown, unknown] {
  if (range === undefined) return [undefined, undefined];
  if (typeof range !== "object" || range === null) throw invalidArgType("range", "of type object", range);
  return [range.offset, range.length];
}

function checkIndex(name: string, value: unknown, max: number): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value) || value < 0 || value > max) throw outOfRange(name, `>= 0 && <= ${max}`, value);
  return value;
}

/** Set by `createMMap` for the one construction it does. */
let constructing = false;

/** Calls the private constructor; set by MMap's static block, which alone may. */
let construct: (init: MMapInit) => MMap;

/** What a typed-array constructor takes: a length, a buffer, a view or an array. */
function isViewSource(value: unknown): boolean {
  return (
    typeof value === "number" ||
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer) ||
    ArrayBuffer.isView(value) ||
    Array.isArray(value)
  );
}

/**
 * A memory-mapped region: a `Uint8Array` over the mapped bytes, indexed like
 * Go's `[]byte`. `subarray` and `slice` return plain `Uint8Array`s.
 *
 * After {@link MMap.unmap} the map and every view on it read as length 0, and
 * every method throws `ERR_MMAP_UNMAPPED`. A map that is dropped without
 * `unmap()` is released after garbage collection.
 */
export class MMap extends Uint8Array {
  /** `Uint8Array`: what `subarray`, `slice`, `map` and `filter` make is a plain `Uint8Array`, not an `MMap`. */
  static get [Symbol.species](): Uint8ArrayConstructor {
    return Uint8Array;
  }

  readonly #state!: State;
  readonly #prot!: Prot;
  readonly #flags!: MapFlags;
  readonly #fileOffset!: number;
  /** Only RDWR file maps have anything to write back; flush is a no-op for the rest. */
  readonly #writesBack!: boolean;
  #pagesWritable!: boolean;

  static {
    construct = (init) => new MMap(init);
    // The bundler compiles a class that refers to itself to `var MMap = class _MMap`: the name
    // errors ("an instance of MMap"), util.inspect and constructor.name show is the real one.
    Object.defineProperty(MMap, "name", { value: "MMap", configurable: true });
  }

  /**
   * Private: maps are made by `map`, `mapRegion` and `mapFile`. At run
   * time, code that builds "a view like this one" with
   * `new view.constructor(buffer, offset, length)` (a BYOB stream read does,
   * as do `MMap.from` and `MMap.of`) gets a plain `Uint8Array`, as
   * `Symbol.species` gives; anything else is `ERR_ILLEGAL_CONSTRUCTOR`.
   */
  // biome-ignore lint/correctness/noUnreachableSuper: returning another object without super() is what is meant here
  private constructor(init: MMapInit, ...rest: unknown[]) {
    if (!constructing) {
      const args = [init, ...rest] as unknown as [ArrayBuffer, number, number];
      // biome-ignore lint/correctness/noConstructorReturn: a plain Uint8Array, as Symbol.species says
      if (isViewSource(init)) return new Uint8Array(...args) as MMap;
      throw illegalConstructor("MMap cannot be constructed directly; use map(), mapRegion() or mapFile()");
    }
    constructing = false;
    super(init.buffer, init.delta, init.length);
    const counters = init.backend.counters;
    this.#state = {
      backend: init.backend,
      handle: init.handle,
      buffer: init.buffer,
      delta: init.delta,
      length: init.length,
      fd: undefined,
      fileKept: init.fileKept === true,
      segmentSize: init.segmentSize,
      unmapped: false,
      pending: 0,
      finishMoved: undefined,
      faultEpoch: counters ? (counters[0] as number) : 0,
      faultAt: -1,
    };
    this.#prot = init.prot as Prot;
    this.#flags = init.flags as MapFlags;
    this.#fileOffset = init.fileOffset;
    this.#writesBack = isShared(init.prot) && (init.flags & ANON) === 0;
    this.#pagesWritable = init.pagesWritable;
    if (init.fd !== undefined) adoptFd(this.#state, init.fd);
    if ((init.handle !== undefined && init.backend.release) || init.fd !== undefined)
      dropOnCollection(this, this.#state);
  }

  /** The protection the map was made with (`RDONLY`, `RDWR` or `COPY`, maybe with `EXEC`). */
  get prot(): Prot {
    return this.#prot;
  }

  /**
   * The flags the map was made with: 0, `ANON`, `POPULATE` or `ANON | POPULATE`
   * (with `mapFile`'s `populate: true`, `POPULATE`). `POPULATE` is reported
   * as asked for, whether or not the system could prefault the pages.
   */
  get flags(): MapFlags {
    return this.#flags;
  }

  /** The file offset of the map's first byte, as requested (not rounded). */
  get fileOffset(): number {
    return this.#fileOffset;
  }

  /** The backend that made the map. */
  get backend(): BackendName {
    return this.#state.backend.name;
  }

  /** Whether `unmap()` has been called. */
  get unmapped(): boolean {
    return this.#state.unmapped;
  }

  /**
   * Whether the pages accept writes. True for every map but `RDONLY|EXEC`
   * ones (mapped read and execute only), after `protect(RDONLY)`, and for
   * `RDONLY` maps the system would only map read-only (strict overcommit,
   * `vm.overcommit_memory=2`): a write to such a map faults the process.
   */
  get pagesWritable(): boolean {
    return this.#pagesWritable;
  }

  /** The state, if the map may still be used: not unmapped, its memory not moved, no fault. */
  #live(method: string): State {
    const s = this.#state;
    if (s.unmapped) throw unmappedError(method);
    if (s.handle === undefined) return s;
    // The memory was moved to another buffer (transfer, a BYOB read): this one is detached.
    if (s.buffer.byteLength === 0) throw detachedError(method);
    const fault = this.#fault();
    if (fault) throw fault;
    return s;
  }

  /** The map's fault, if the backend handled one in its pages (checked only when the counter moved). */
  #fault(): CodedError | undefined {
    const s = this.#state;
    const counters = s.backend.counters;
    if (s.faultAt < 0 && counters && counters[0] !== s.faultEpoch && s.handle !== undefined) {
      s.faultEpoch = counters[0] as number;
      s.faultAt = s.backend.faultAt?.(s.handle) ?? -1;
    }
    return s.faultAt >= 0 ? faultError(s.faultAt) : undefined;
  }

  /** Page-aligned [offset, length] relative to the mapping for a user range of this map. */
  #pages(method: string, range: Range | undefined): [number, number] {
    const [userOffset, userLength] = readRange(range);
    const state = this.#live(method);
    const offset = userOffset === undefined ? 0 : checkIndex("range.offset", userOffset, state.length);
    const rest = state.length - offset;
    const length = userLength === undefined ? rest : checkIndex("range.length", userLength, rest);
    const start = state.delta + offset;
    const pageSize = state.backend.pageSize;
    const aligned = start - (start % pageSize);
    return [aligned, length === 0 ? 0 : start + length - aligned];
  }

  /**
   * Writes changed bytes of the range back to the file and waits until they
   * are stored. No-op for COPY, RDONLY and ANON maps.
   *
   * @param range The bytes to write back (see {@link Range}); default all.
   * @throws `Error` `ERR_MMAP_UNMAPPED` after `unmap()`; `ERR_MMAP_DETACHED`
   * after the memory moved to another buffer; `ERR_MMAP_FAULT` after a page
   * of the file failed.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE`, `RangeError`
   * `ERR_OUT_OF_RANGE` for a bad `range`.
   * @throws {@link MmapSystemError} where the system fails to write (`EIO`,
   * `ENOSPC`; `syscall` `msync` or `FlushViewOfFile`).
   * @example
   * ```ts
   * m.set(record, 4096);
   * m.flush({ offset: 4096, length: record.length }); // just those bytes
   * ```
   */
  flush(range?: Range): void {
    const [offset, length] = this.#pages("flush", range);
    if (length > 0 && this.#writesBack) this.#state.backend.flush(this.#state.handle, offset, length);
  }

  /**
   * Like {@link MMap.flush}, but off the JavaScript thread where the backend
   * can; resolves when stored. `unmap()` may be called while it is pending:
   * the map reads length 0 at once, and is released when the flush is done.
   *
   * @param range The bytes to write back (see {@link Range}); default all.
   * @throws (rejects with) the same errors as {@link MMap.flush}; a bad
   * `range` or a map already unmapped rejects before anything is written.
   * @example
   * ```ts
   * await m.flushAsync(); // the event loop keeps running meanwhile
   * ```
   */
  async flushAsync(range?: Range): Promise<void> {
    const [offset, length] = this.#pages("flushAsync", range);
    if (length === 0 || !this.#writesBack) return;
    const s = this.#state;
    s.pending++;
    try {
      await s.backend.flushAsync(s.handle, offset, length);
    } finally {
      s.pending--;
      if (s.pending === 0 && s.finishMoved !== undefined) {
        const moved = s.finishMoved;
        s.finishMoved = undefined;
        try {
          finish(s, moved);
        } catch {
          // unmap() has returned: nobody is left to tell. The backend keeps the range.
        }
      }
    }
  }

  /**
   * Pins the map's pages in RAM (mlock / VirtualLock), so that reading them
   * never waits for the disk. `RDONLY` and `COPY` maps are private
   * copy-on-write mappings: locking one makes the kernel copy every page;
   * lock `RDWR` maps where that matters.
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @throws {@link MmapSystemError} where the system refuses: `ENOMEM` or
   * `EPERM` over `RLIMIT_MEMLOCK` (`ulimit -l`), `syscall` `mlock` or
   * `VirtualLock`. The map stays usable.
   */
  lock(): void {
    const [offset, length] = this.#pages("lock", undefined);
    if (length === 0) return;
    this.#state.backend.lock(this.#state.handle, offset, length);
    this.#state.locked = true;
  }

  /**
   * Undoes {@link MMap.lock}.
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @throws {@link MmapSystemError} where the system refuses.
   */
  unlock(): void {
    const [offset, length] = this.#pages("unlock", undefined);
    if (length === 0) return;
    this.#state.backend.unlock(this.#state.handle, offset, length);
    this.#state.locked = false;
  }

  /**
   * Tells the OS how the range will be used: `normal`, `random`,
   * `sequential`, `willneed` (read ahead) or `dontneed`. Advice is only a
   * hint; it never changes the contents.
   *
   * @param advice One of the {@link Advice} values.
   * @param range The bytes it applies to (see {@link Range}); default all.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for an `advice` that is not a
   * string, `ERR_INVALID_ARG_VALUE` for an unknown one; `ERR_INVALID_ARG_TYPE`
   * or `RangeError` `ERR_OUT_OF_RANGE` for a bad `range`.
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @example Before one pass over a big file
   * ```ts
   * m.advise("sequential");
   * ```
   */
  advise(advice: Advice, range?: Range): void {
    checkAdvice(advice);
    const [offset, length] = this.#pages("advise", range);
    if (length > 0) this.#state.backend.advise(this.#state.handle, offset, length, advice);
  }

  /**
   * Changes the hardware protection of the map to `RDONLY` or `RDWR`, either
   * maybe with `EXEC`. This is the one call that can fault the process: after
   * `protect(RDONLY)` a write to the map is a memory fault, as in C. (On a
   * map made RDONLY or COPY, `RDWR` keeps writes private, as they were.)
   * Backends whose `enforcesProtection` capability is false only record it.
   *
   * @typeParam P The type of `prot`, inferred (see {@link Checked}).
   * @param prot `RDONLY` or `RDWR`, either maybe with `EXEC`: a {@link PageProt}.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for a `prot` that is not a
   * number, `ERR_INVALID_ARG_VALUE` for any other value (`COPY` included).
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @throws {@link MmapSystemError} where the system refuses (`syscall`
   * `mprotect` or `VirtualProtect`).
   * @example Freeze a finished table: a stray write now faults, as in C
   * ```ts
   * m.protect(RDONLY);
   * console.log(m.pagesWritable); // false on a real map
   * ```
   */
  protect<P extends number>(prot: Checked<P, PageProt>): void {
    if (typeof prot !== "number") throw invalidArgType("prot", "of type number", prot);
    if (prot !== RDONLY && prot !== RDWR && prot !== (RDONLY | EXEC) && prot !== (RDWR | EXEC)) {
      throw invalidArgValue("prot", prot, "must be RDONLY or RDWR, optionally with EXEC");
    }
    const [offset, length] = this.#pages("protect", undefined);
    const writable = (prot & RDWR) !== 0;
    if (length > 0) this.#state.backend.protect(this.#state.handle, offset, length, writable, (prot & EXEC) !== 0);
    if (this.#state.backend.capabilities.enforcesProtection) this.#pagesWritable = writable;
  }

  /**
   * One byte per page of the map, 1 where the page is in RAM (like mincore).
   * The fallback's pages are always in memory (all 1).
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @throws {@link MmapSystemError} where the system refuses.
   * @example The share of a file in the page cache
   * ```ts
   * const pages = m.residency();
   * console.log(pages.reduce((a, b) => a + b, 0) / pages.length);
   * ```
   */
  residency(): Uint8Array {
    const [offset, length] = this.#pages("residency", undefined);
    if (length === 0) return new Uint8Array(0);
    const pages = this.#state.backend.residency(this.#state.handle, offset, length);
    for (let i = 0; i < pages.length; i++) pages[i] = (pages[i] ?? 0) & 1;
    return pages;
  }

  /**
   * The size of the file behind the map as the system reports it now, which
   * another process may have changed since the map was made (Python's
   * `m.size()`): a reader can check it before touching bytes the file may no
   * longer have. An `ANON` map has no file: its length.
   *
   * A file map must keep its descriptor for this: map it with
   * `mapFile(path, { keepOpen: true })`. It is the size of the file the map
   * was made of, even after that file was renamed over or deleted (not of
   * whatever its path names now).
   *
   * @throws `Error` `ERR_MMAP_NO_FILE` for a file map that does not keep its
   * file open; `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @throws {@link MmapSystemError} where the system refuses (`syscall` `fstat`).
   * @example Notice that a log file grew or shrank
   * ```ts
   * const m = mapFile("app.log", { keepOpen: true });
   * if (m.fileSize() < m.fileOffset + m.length) console.log("truncated under the map");
   * ```
   */
  fileSize(): number {
    const s = this.#live("fileSize");
    if ((this.#flags & ANON) !== 0) return s.length;
    if (s.segmentSize !== undefined) return s.segmentSize;
    if (!s.fileKept || s.fd === undefined) throw noFileError("fileSize");
    return fileSize(s.backend, s.fd);
  }

  /**
   * A map of `newLength` bytes over the same file offset (or new anonymous
   * memory, for an `ANON` map), with the contents kept up to the smaller
   * length; this map is unmapped (it and its views read length 0 from now
   * on), so use the one returned (Python's `m.resize()`, memmap2's `remap`).
   *
   * - An `RDWR` file map that grows extends the file first, with the new
   *   blocks reserved as `mapFile`'s `grow` does (a full disk is `ENOSPC`
   *   now, not a fault later); if the new map then fails, the file is put
   *   back. One that shrinks leaves the file as it is unless
   *   `{ truncate: true }`.
   * - `RDONLY` and `COPY` maps cannot reach past the end of the file
   *   (`ERR_OUT_OF_RANGE`, as when mapping).
   * - Shared (`RDWR`) maps of the native and koffi backends need no copy:
   *   the new map is the same page cache. The fallback's `RDWR` maps write
   *   their changes back first (as {@link MMap.flush} does), then the new
   *   map reads the file. `ANON` maps of the native and koffi backends on
   *   Linux move their pages (`mremap`): nothing is copied or faulted in
   *   again, whatever the size. Other `ANON` maps and `COPY` maps copy their
   *   bytes into the new map (each page of it is faulted in); `RDONLY` maps
   *   read the file again.
   * - The new map has the protection the map was made with: a
   *   {@link MMap.protect} of this map is not carried over, nor is a
   *   {@link MMap.lock} (lock the new map if it must stay in RAM).
   *
   * A file map must keep its descriptor: map it with
   * `mapFile(path, { keepOpen: true })`. The new map takes it over.
   *
   * `truncate: true` cuts the file at `fileOffset + newLength`, whatever the
   * file holds past that point, including bytes this map never covered.
   *
   * On failure the map and the file are left as they were (the fallback's
   * changes may have been written back), with one exception: where
   * truncating the file fails after the old map was unmapped, the new map is
   * unmapped too, and the error says so (the bytes are in the file).
   *
   * @param newLength The new length in bytes, an integer > 0 (`number` or `bigint`).
   * @param options `truncate` (see {@link ResizeOptions}).
   * @returns The new map; this one is unmapped.
   * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for a `newLength` that is not
   * a number or bigint, or `options` that is not an object, or a `truncate`
   * that is not a boolean; `ERR_INVALID_ARG_VALUE` for `truncate: true` on a
   * map that is not an `RDWR` file map.
   * @throws `RangeError` `ERR_OUT_OF_RANGE` for a `newLength` < 1, fractional,
   * too long for a buffer, or (not `RDWR`) past the end of the file.
   * @throws `Error` `ERR_MMAP_NO_FILE` for a file map that does not keep its
   * file open; `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed;
   * `ERR_MMAP_UNSUPPORTED` for `truncate: true` where the old view cannot be
   * released at once (Windows before placeholders, so Wine 8), and for a
   * Windows shared-memory segment (a named section keeps its size; POSIX
   * segments from {@link openSharedMemory} resize like files).
   * @throws {@link MmapSystemError} `EBUSY` while a {@link MMap.flushAsync}
   * of the map is pending, or (Bun) while native code such as `fs.read`
   * still works on its buffer, as from {@link MMap.unmap}; `ENOSPC`, `EFBIG` where the file cannot grow;
   * what the system's map call throws.
   * @example An append-only log that grows in chunks of 1 MiB
   * ```ts
   * import { mapFile, RDWR } from "portable-mmap";
   *
   * let log = mapFile("events.log", { prot: RDWR, length: 1 << 20, grow: true, keepOpen: true });
   * let end = 0;
   * function append(record: Uint8Array) {
   *   while (end + record.length > log.length) log = log.resize(log.length + (1 << 20));
   *   log.set(record, end);
   *   end += record.length;
   * }
   * ```
   */
  resize(newLength: number | bigint, options?: ResizeOptions): MMap {
    let truncate: unknown = false;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) throw invalidArgType("options", "of type object", options);
      truncate = options.truncate ?? false; // read once: it may be a getter
      if (typeof truncate !== "boolean") throw invalidArgType("options.truncate", "of type boolean", truncate);
    }
    if (typeof newLength !== "number" && typeof newLength !== "bigint") {
      throw invalidArgType("newLength", "of type number or bigint", newLength);
    }
    if (typeof newLength === "number" && !Number.isInteger(newLength)) {
      throw outOfRange("newLength", "an integer", newLength);
    }
    if (newLength < 1) throw outOfRange("newLength", ">= 1", newLength);
    if (newLength > Number.MAX_SAFE_INTEGER) throw outOfRange("newLength", `<= ${Number.MAX_SAFE_INTEGER}`, newLength);
    const state = this.#live("resize");
    if (Number(newLength) + state.delta > maxLength) {
      throw outOfRange(
        "newLength",
        `<= ${maxLength - state.delta} (the largest buffer this runtime can make, less the alignment)`,
        newLength,
      );
    }
    if (remap === undefined) throw new Error("portable-mmap: map.ts was not loaded"); // cannot happen: maps come from it
    return resize(
      {
        map: this,
        state,
        prot: this.#prot,
        flags: this.#flags,
        fileOffset: this.#fileOffset,
        shared: this.#writesBack,
        stateOf: (m) => m.#state,
      },
      Number(newLength),
      truncate as boolean,
      remap,
    );
  }

  /**
   * A zero-copy Node `Buffer` over the same bytes (for `indexOf`,
   * `readUInt32LE`, `toString`, ...). Like every view, it reads length 0
   * after {@link MMap.unmap}.
   *
   * @throws `Error` `ERR_MMAP_UNMAPPED` after {@link MMap.unmap};
   * `ERR_MMAP_DETACHED` after the memory moved to another buffer;
   * `ERR_MMAP_FAULT` after a page of the file failed.
   * @example Count the lines of a file without reading it into memory
   * ```ts
   * const b = m.asBuffer();
   * let lines = 0;
   * for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
   * ```
   */
  asBuffer(): NodeBuffer {
    const s = this.#live("asBuffer");
    // From the state, not the instance's own `buffer`/`byteOffset` getters, which a caller could shadow.
    return Buffer.from(s.buffer, s.delta, s.length) as NodeBuffer;
  }

  /**
   * Releases the mapping (RDWR changes reach the file) and detaches its
   * memory: the map and every view on it read as length 0. Calling it again
   * does nothing. While a `flushAsync` is pending the release waits for it.
   *
   * A view that still points at the memory elsewhere (its buffer was moved
   * with `transfer()`, or work on the thread pool such as `crypto.randomFill`
   * still runs on it) reads zeros from now on and its writes go nowhere; the
   * address range is given back once nothing can point at it.
   *
   * On Node the first detached buffer of a process makes V8 check
   * every typed-array access for detachment from then on, so loops over any
   * typed array run more slowly; a hot loop keeps its map rather than
   * unmapping it each pass (docs/troubleshooting.md).
   *
   * @throws `ERR_MMAP_DETACHED` (after unmapping) where the fallback could not
   * write back a map whose memory had moved; `ERR_MMAP_FAULT` (after
   * unmapping) where a page of the file had failed; a system error, with the
   * map left as it was, where the system refused.
   * @example
   * ```ts
   * const m = mapFile("data.bin", { prot: RDWR });
   * try {
   *   m[0] = 1;
   * } finally {
   *   m.unmap(); // m.length is 0 from now on
   * }
   * ```
   */
  unmap(): void {
    const s = this.#state;
    if (s.unmapped) return;
    if (s.handle === undefined) {
      detachPlain(s.buffer);
      s.unmapped = true;
      closeOwnFd(s);
      return;
    }
    const moved = s.buffer.byteLength === 0;
    const fault = this.#fault();
    if (s.pending > 0) {
      if (!moved) s.backend.detach(s.handle, s.buffer);
      s.finishMoved = moved;
      s.unmapped = true;
    } else {
      finish(s, moved);
      s.unmapped = true;
    }
    if (moved && this.#writesBack && !s.backend.capabilities.sharesPageCache) throw lostChangesError();
    if (fault) throw fault;
  }

  /**
   * The same as {@link MMap.unmap}, so that `using m = map(...)` unmaps at
   * the end of the block (TypeScript 5.2+, Node 24+).
   *
   * @throws As {@link MMap.unmap}.
   * @example
   * ```ts
   * {
   *   using m = mapFile("data.bin");
   *   console.log(m[0]);
   * } // unmapped here
   * ```
   */
  [dispose](): void {
    this.unmap();
  }
}

/** Whether `prot` maps the file shared (writes reach it): only RDWR does. */
export function isShared(prot: number): boolean {
  return (prot & ~EXEC) === RDWR;
}

/** @internal The one way to make an `MMap` (map.ts). */
export function createMMap(init: MMapInit): MMap {
  constructing = true;
  try {
    return construct(init);
  } finally {
    constructing = false;
  }
}

/**
 * @internal An `MMap` over a whole mapping that the backend made without
 * `map.ts` (pages moved by `resize()`, a view of a Windows named section): at
 * offset 0, owning no descriptor.
 */
export function adoptMapping(
  backend: Backend,
  mapping: Mapping<unknown>,
  length: number,
  prot: number,
  flags: number,
  pagesWritable: boolean,
  segmentSize?: number,
): MMap {
  return createMMap({
    backend,
    prot,
    flags,
    fileOffset: 0,
    delta: 0,
    length,
    handle: mapping.handle,
    buffer: mapping.buffer,
    pagesWritable,
    fd: undefined,
    fileKept: false,
    segmentSize,
  });
}

const validProts: readonly number[] = [RDONLY, RDWR, COPY, RDONLY | EXEC, RDWR | EXEC, COPY | EXEC];

/** Whether `prot` is one of RDONLY, RDWR, COPY, maybe with EXEC. */
export function isValidProt(prot: number): boolean {
  return validProts.includes(prot);
}
