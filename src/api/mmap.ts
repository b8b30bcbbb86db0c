/**
 * `MMap`: a Uint8Array over mapped memory, and the mapping's lifetime
 * (explicit unmap, release after garbage collection, no use after unmap).
 */
import { closeSync } from "node:fs";
import type { Advice, Backend, BackendName } from "../backends/contract.js";
import { detachPlain } from "./buffers.js";
import { ANON, COPY, EXEC, RDONLY, RDWR } from "./constants.js";
import { invalidArgType, invalidArgValue, unmappedError } from "./errors.js";
import { checkInteger } from "./validate.js";

/** A byte range of an `MMap`, relative to its first byte; defaults to all of it. */
export interface Range {
  /** First byte, default 0. */
  offset?: number;
  /** Number of bytes, default to the end of the map. */
  length?: number;
}

const advices: readonly Advice[] = ["normal", "random", "sequential", "willneed", "dontneed"];

/** Everything an `MMap` needs to know about its mapping. Built by `src/api/map.ts`. */
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
  /** A descriptor the map owns and closes when it is released. */
  fd?: number;
}

interface State {
  backend: Backend;
  handle: unknown;
  buffer: ArrayBuffer;
  delta: number;
  fd?: number;
  unmapped: boolean;
}

type Held = Pick<State, "backend" | "handle" | "fd">;

function release(held: Held): void {
  try {
    if (held.handle !== undefined) held.backend.release?.(held.handle);
  } finally {
    if (held.fd !== undefined) closeSync(held.fd);
  }
}

// Mappings dropped without unmap(): the buffer is the target, so this runs
// once no view on the mapped memory is left.
const registry = new FinalizationRegistry<Held>((held) => {
  try {
    release(held);
  } catch {
    // Nothing to report to: the program has dropped the map.
  }
});

const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for("nodejs.dispose");

/**
 * A memory-mapped region: a `Uint8Array` over the mapped bytes, indexed like
 * Go's `[]byte`. `subarray` and `slice` return plain `Uint8Array`s.
 *
 * After {@link MMap.unmap} the map and every view on it read as length 0, and
 * every method throws `ERR_MMAP_UNMAPPED`. A map that is dropped without
 * `unmap()` is released after garbage collection.
 */
export class MMap extends Uint8Array {
  static get [Symbol.species](): Uint8ArrayConstructor {
    return Uint8Array;
  }

  readonly #state: State;
  readonly #prot: number;
  readonly #flags: number;
  readonly #fileOffset: number;
  /** Only RDWR file maps have anything to write back; flush is a no-op for the rest. */
  readonly #writesBack: boolean;

  /** @internal Maps are made by `map`, `mapRegion` and `mapFile`. */
  constructor(init: MMapInit) {
    if (typeof init !== "object" || init === null || !(init.buffer instanceof ArrayBuffer)) {
      throw new TypeError("MMap cannot be constructed directly; use map(), mapRegion() or mapFile()");
    }
    super(init.buffer, init.delta, init.length);
    this.#state = {
      backend: init.backend,
      handle: init.handle,
      buffer: init.buffer,
      delta: init.delta,
      fd: init.fd,
      unmapped: false,
    };
    this.#prot = init.prot;
    this.#flags = init.flags;
    this.#fileOffset = init.fileOffset;
    this.#writesBack = isShared(init.prot) && init.flags !== ANON;
    const needsRelease = (init.handle !== undefined && init.backend.release) || init.fd !== undefined;
    if (needsRelease) {
      registry.register(init.buffer, { backend: init.backend, handle: init.handle, fd: init.fd }, this.#state);
    }
  }

  /** The protection the map was made with (`RDONLY`, `RDWR` or `COPY`, maybe with `EXEC`). */
  get prot(): number {
    return this.#prot;
  }

  /** The flags the map was made with (`ANON` or 0). */
  get flags(): number {
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

  #live(method: string): State {
    if (this.#state.unmapped) throw unmappedError(method);
    return this.#state;
  }

  /** Page-aligned [offset, length] relative to the mapping for a user range of this map. */
  #pages(method: string, range: Range | undefined): [number, number] {
    const state = this.#live(method);
    let offset = 0;
    let length = this.length;
    if (range !== undefined) {
      if (typeof range !== "object" || range === null) throw invalidArgType("range", "of type object", range);
      if (range.offset !== undefined) offset = checkInteger("range.offset", range.offset, 0, this.length);
      const rest = this.length - offset;
      if (range.length !== undefined) length = checkInteger("range.length", range.length, 0, rest);
      else length = rest;
    }
    const start = state.delta + offset;
    const pageSize = state.backend.pageSize;
    const aligned = start - (start % pageSize);
    return [aligned, length === 0 ? 0 : start + length - aligned];
  }

  /** Writes changed bytes of the range back to the file and waits until they are stored. No-op for COPY and ANON. */
  flush(range?: Range): void {
    const [offset, length] = this.#pages("flush", range);
    if (length > 0 && this.#writesBack) this.#state.backend.flush(this.#state.handle, offset, length);
  }

  /** Like {@link MMap.flush}, but off the JavaScript thread where the backend can; resolves when stored. */
  async flushAsync(range?: Range): Promise<void> {
    const [offset, length] = this.#pages("flushAsync", range);
    if (length > 0 && this.#writesBack) await this.#state.backend.flushAsync(this.#state.handle, offset, length);
  }

  /** Pins the map's pages in RAM (mlock / VirtualLock). */
  lock(): void {
    const [offset, length] = this.#pages("lock", undefined);
    if (length > 0) this.#state.backend.lock(this.#state.handle, offset, length);
  }

  /** Undoes {@link MMap.lock}. */
  unlock(): void {
    const [offset, length] = this.#pages("unlock", undefined);
    if (length > 0) this.#state.backend.unlock(this.#state.handle, offset, length);
  }

  /**
   * Tells the OS how the range will be used: `normal`, `random`,
   * `sequential`, `willneed` (read ahead) or `dontneed`. Advice is only a
   * hint; it never changes the contents.
   */
  advise(advice: Advice, range?: Range): void {
    this.#live("advise");
    if (typeof advice !== "string") throw invalidArgType("advice", "of type string", advice);
    if (!advices.includes(advice)) throw invalidArgValue("advice", advice, `must be one of ${advices.join(", ")}`);
    const [offset, length] = this.#pages("advise", range);
    if (length > 0) this.#state.backend.advise(this.#state.handle, offset, length, advice);
  }

  /**
   * Changes the hardware protection of the map to `RDONLY` or `RDWR`, either
   * maybe with `EXEC`. This is the one call that can fault the process: after
   * `protect(RDONLY)` a write to the map is a memory fault, as in C. (On a
   * map made RDONLY or COPY, `RDWR` keeps writes private, as they were.)
   * Backends whose `enforcesProtection` capability is false only record it.
   */
  protect(prot: number): void {
    this.#live("protect");
    if (typeof prot !== "number") throw invalidArgType("prot", "of type number", prot);
    const base = prot & ~EXEC;
    if (!Number.isInteger(prot) || prot < 0 || (base !== RDONLY && base !== RDWR)) {
      throw invalidArgValue("prot", prot, "must be RDONLY or RDWR, optionally with EXEC");
    }
    const [offset, length] = this.#pages("protect", undefined);
    if (length > 0) this.#state.backend.protect(this.#state.handle, offset, length, base === RDWR, (prot & EXEC) !== 0);
  }

  /** One byte per page of the map, 1 where the page is in RAM (like mincore). */
  residency(): Uint8Array {
    const [offset, length] = this.#pages("residency", undefined);
    if (length === 0) return new Uint8Array(0);
    const pages = this.#state.backend.residency(this.#state.handle, offset, length);
    for (let i = 0; i < pages.length; i++) pages[i] = (pages[i] ?? 0) & 1;
    return pages;
  }

  /** A zero-copy Node `Buffer` over the same bytes (for `indexOf`, `readUInt32LE`, `toString`, ...). */
  asBuffer(): Buffer {
    this.#live("asBuffer");
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength);
  }

  /**
   * Releases the mapping (RDWR changes reach the file) and detaches its
   * memory: the map and every view on it read as length 0. Calling it again
   * does nothing.
   */
  unmap(): void {
    const state = this.#state;
    if (state.unmapped) return;
    if (state.handle === undefined) detachPlain(state.buffer);
    else state.backend.unmap(state.handle, state.buffer);
    state.unmapped = true;
    registry.unregister(state);
    if (state.fd !== undefined) closeSync(state.fd);
  }

  /** The same as {@link MMap.unmap}, so that `using m = map(...)` unmaps at the end of the block. */
  [dispose](): void {
    this.unmap();
  }
}

/** Whether `prot` maps the file shared (writes reach it): only RDWR does. */
export function isShared(prot: number): boolean {
  return (prot & ~EXEC) === RDWR;
}

/** Whether `prot` is one of RDONLY, RDWR, COPY, maybe with EXEC. */
export function isValidProt(prot: number): boolean {
  const base = prot & ~EXEC;
  return Number.isInteger(prot) && prot >= 0 && (base === RDONLY || base === RDWR || base === COPY);
}
