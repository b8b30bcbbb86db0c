/**
 * `map`, `mapRegion` and `mapFile`: argument checks, file size and growth,
 * alignment of the offset, then one call into the selected backend.
 */
import { closeSync, constants as fsConstants, openSync, unlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Backend } from "../backends/contract.js";
import { maxLength } from "./buffers.js";
import {
  ANON,
  type Checked,
  EXEC,
  type FileMapFlags,
  type MapFlags,
  POPULATE,
  type Prot,
  RDONLY,
} from "./constants.js";
import { fromNodeError, invalidArgType, invalidArgValue, outOfRange, systemError, withPath } from "./errors.js";
import { fileSize, growFile, truncateBack } from "./file.js";
import { checkLimitOf } from "./limits.js";
import { adoptMapping, createMMap, isShared, isValidProt, type MMap, setRemap } from "./mmap.js";
import { populateFits } from "./populate.js";
import { selectedBackend } from "./select.js";
import { checkInteger } from "./validate.js";

/**
 * A file to map: a descriptor number, or an object with one in `fd`, such as
 * a `node:fs/promises` `FileHandle` (written without Node's types, so that
 * they need not be installed).
 */
export type FileLike =
  | number
  | {
      /** The descriptor (-1 for a closed `FileHandle`). */
      readonly fd: number;
    };

/**
 * The WHATWG `URL` class, where the program's types declare one (`@types/node`,
 * the DOM library, Bun's or Deno's types); otherwise `never`, so that the
 * published types need no `@types/node`.
 */
export type URLType = typeof globalThis extends {
  /** The global `URL` class. */
  URL: {
    /** The type of its instances. */
    prototype: infer U;
  };
}
  ? U
  : never;

/**
 * A path as `node:fs` takes it: a string, its bytes in a `Buffer` (or any
 * `Uint8Array`), or a `file:` URL.
 */
export type PathLike = string | Uint8Array | URLType;

/**
 * Options of {@link mapFile}. An object literal with any other key is a type
 * error; at run time other keys are ignored.
 *
 * @typeParam P The type of `prot`, inferred by {@link mapFile} (see {@link Checked}).
 * @typeParam F The type of `flags`, inferred by {@link mapFile} (see {@link Checked}).
 */
export interface MapFileOptions<P extends number = number, F extends number = FileMapFlags> {
  /** `RDONLY` (default), `RDWR` or `COPY`, maybe with `EXEC`: a {@link Prot}. */
  prot?: Checked<P, Prot>;
  /**
   * Flags: 0 (the default) or {@link POPULATE}, a {@link FileMapFlags};
   * `ANON` is not allowed here (there is no file).
   */
  flags?: Checked<F, FileMapFlags>;
  /**
   * `true`: the same as `flags: POPULATE`, prefault the pages at map time
   * (a hint; see {@link POPULATE} for what it does on each system). `false`,
   * the default, leaves `flags` as it is. {@link MMap.flags} then includes
   * `POPULATE`.
   */
  populate?: boolean;
  /** File offset of the first byte; any value works, it need not be aligned. Default 0. */
  offset?: number | bigint;
  /** Bytes to map; negative (the default) maps to the end of the file. */
  length?: number | bigint;
  /** With `RDWR`: create the file if it is missing, and extend it first if the region reaches past its end. Default false. */
  grow?: boolean;
  /**
   * `true`: the map keeps its descriptor of the file open until it is
   * unmapped (or collected), as Python's `mmap` does by default (`trackfd`),
   * so that {@link MMap.fileSize} and {@link MMap.resize} can reach the file.
   * `false`, the default, closes it once the map exists: a program may then
   * keep more maps than it may open files.
   */
  keepOpen?: boolean;
}

const MAX_FD = 2 ** 31 - 1;

function descriptorOf(file: unknown): number {
  if (typeof file === "number") return checkInteger("file", file, 0, MAX_FD);
  if (typeof file === "object" && file !== null) {
    const fd = (file as { fd?: unknown }).fd; // read once: it may be a getter
    if (fd === -1) throw systemError("EBADF", "mmap"); // a closed FileHandle
    if (fd !== undefined) return checkInteger("file.fd", fd, 0, MAX_FD);
  }
  throw invalidArgType("file", "of type number or an instance of FileHandle", file);
}

function checkProt(prot: unknown): number {
  if (typeof prot !== "number") throw invalidArgType("prot", "of type number", prot);
  if (!isValidProt(prot)) throw invalidArgValue("prot", prot, "must be RDONLY, RDWR or COPY, optionally with EXEC");
  return prot;
}

const validFlags: readonly number[] = [0, ANON, POPULATE, ANON | POPULATE];

function checkFlags(flags: unknown, name = "flags"): number {
  if (typeof flags !== "number") throw invalidArgType(name, "of type number", flags);
  if (!validFlags.includes(flags)) throw invalidArgValue(name, flags, "must be 0, ANON, POPULATE or ANON | POPULATE");
  return flags | 0; // -0 is 0 (MMap.flags reports it so)
}

/** Any integer length; negative means "to the end of the file" (-1). Too long for a buffer: ERR_OUT_OF_RANGE. */
function checkLength(length: unknown): number {
  if (typeof length !== "number" && typeof length !== "bigint") {
    throw invalidArgType("length", "of type number or bigint", length);
  }
  if (typeof length === "number" && !Number.isInteger(length)) throw outOfRange("length", "an integer", length);
  if (length > maxLength) throw tooLong(length);
  return length < 0 ? -1 : Number(length);
}

function tooLong(requested: number | bigint): Error {
  return outOfRange(
    "length",
    `<= ${maxLength} (the largest buffer this runtime can make, less the alignment)`,
    requested,
  );
}

function checkMaxLength(mapped: number, requested: number): void {
  if (mapped > maxLength) throw tooLong(requested);
}

/** The one path into a backend; every public function ends here. */
export function mapChecked(
  backend: Backend,
  fd: number,
  length: number,
  prot: number,
  flags: number,
  offset: number,
  grow: boolean,
  ownFd: boolean,
  keepOpen = false,
): MMap {
  const anon = (flags & ANON) !== 0;
  let grownFrom = -1;
  if (anon) {
    if (length <= 0) throw outOfRange("length", "> 0 with ANON", length);
    if (offset !== 0) throw invalidArgValue("offset", offset, "must be 0 with ANON");
    checkMaxLength(length, length);
  } else {
    if (length > 0) checkMaxLength(length + (offset % backend.allocationGranularity), length);
    // The region's end must be exact: past 2^53 a sum of numbers rounds.
    if (length > Number.MAX_SAFE_INTEGER - offset) {
      throw outOfRange(
        "length",
        `<= ${Number.MAX_SAFE_INTEGER - offset}: offset + length must be at most 2^53 - 1`,
        length,
      );
    }
    const size = fileSize(backend, fd);
    if (size < 0) throw systemError("ENODEV", "mmap");
    if (length < 0) {
      if (offset > size) throw outOfRange("offset", `<= the file size (${size})`, offset);
      length = size - offset;
      checkMaxLength(length + (offset % backend.allocationGranularity), length);
    } else if (offset + length > size) {
      if (!grow || !isShared(prot)) {
        throw outOfRange(
          "length",
          `<= ${Math.max(0, size - offset)}: the region [${offset}, ${offset + length}) ends past the end of the file (${size} bytes); map it with RDWR and grow: true to extend the file`,
          length,
        );
      }
      if (length > 0) checkLimitOf(backend);
      growFile(backend, fd, size, offset, offset + length);
      grownFrom = size;
    }
  }

  const delta = anon ? 0 : offset % backend.allocationGranularity;
  if (length === 0) {
    if (ownFd && !keepOpen) closeSync(fd);
    const buffer = new ArrayBuffer(0);
    return createMMap({
      backend,
      prot,
      flags,
      fileOffset: offset,
      delta: 0,
      length,
      handle: undefined,
      buffer,
      pagesWritable: true,
      fd: keepOpen ? fd : undefined,
      fileKept: keepOpen,
    });
  }
  checkLimitOf(backend);
  const shared = !anon && isShared(prot);
  // RDONLY|EXEC is mapped read and execute only: never writable and executable at once unless asked for.
  let writable = prot !== (RDONLY | EXEC);
  let mapping: ReturnType<Backend["map"]>;
  // A hint, followed only where it cannot exhaust memory (populate.ts).
  const populate = (flags & POPULATE) !== 0 && populateFits(length + delta);
  const request = (pagesWritable: boolean) => ({
    fd: anon ? -1 : fd,
    offset: offset - delta,
    length: length + delta,
    shared,
    writable: pagesWritable,
    exec: (prot & EXEC) !== 0,
    anon,
    populate,
  });
  try {
    try {
      mapping = backend.map(request(writable));
    } catch (error) {
      // A strict kernel (vm.overcommit_memory=2) charges a writable private map in full, a
      // read-only one not at all: map RDONLY read-only then (pagesWritable says so). Where
      // ENOMEM has another cause (address space, the number of mappings) the retry fails alike.
      if (prot !== RDONLY || (error as { code?: string }).code !== "ENOMEM") throw error;
      writable = false;
      mapping = backend.map(request(writable));
    }
  } catch (error) {
    if (grownFrom >= 0) truncateBack(fd, grownFrom);
    throw error;
  }
  // A descriptor we opened is closed now, unless the caller asked to keep it or
  // the backend still needs it: then the map owns it and closes it when it is released.
  const keepFd = ownFd && (keepOpen || backend.capabilities.needsDescriptor);
  if (ownFd && !keepFd) closeSync(fd);
  // One literal with every field, not a spread: a spread makes a new hidden class per call (slow on the hot path).
  return createMMap({
    backend,
    prot,
    flags,
    fileOffset: offset,
    delta,
    length,
    handle: mapping.handle,
    buffer: mapping.buffer,
    // Only hardware protection makes a write fault; the fallback's memory always takes writes.
    pagesWritable: writable || !backend.capabilities.enforcesProtection,
    fd: keepFd ? fd : undefined,
    fileKept: keepOpen,
  });
}

// resize() maps again through the same path (mmap.ts cannot import this file: it imports mmap.ts).
setRemap({
  map: (backend, fd, length, prot, flags, offset, grow, keepOpen) =>
    mapChecked(backend, fd, length, prot, flags, offset, grow, keepOpen, keepOpen),
  adopt: (backend, mapping, length, prot, flags) =>
    adoptMapping(
      backend,
      mapping,
      length,
      prot,
      flags,
      prot !== (RDONLY | EXEC) || !backend.capabilities.enforcesProtection,
    ),
});

/**
 * Maps a region of a file: `length` bytes from `offset` (any offset; it need
 * not be aligned). A negative `length` maps to the end of the file. With
 * `ANON` the file is ignored and `length` must be > 0. With `POPULATE` the
 * pages are prefaulted before it returns, as far as the system lets it (a
 * hint that never fails the map; see {@link POPULATE}).
 *
 * In TypeScript `prot` and `flags` are checked against the constants: a
 * literal such as `3` is a type error (see {@link Checked}); plain numbers,
 * such as `RDWR | EXEC`, are checked at run time.
 *
 * @typeParam P The type of `prot`, inferred.
 * @typeParam F The type of `flags`, inferred.
 * @param file A descriptor number or a `FileHandle` (ignored with `ANON`: pass -1 or null).
 * @param length Bytes to map, `number` or `bigint`; negative means to the end of the file.
 * @param prot `RDONLY` (default), `RDWR` or `COPY`, maybe with `EXEC`: a {@link Prot}.
 * @param flags 0 (default), `ANON`, `POPULATE` or `ANON | POPULATE`: a {@link MapFlags}.
 * @param offset File offset of the first byte, `number` or `bigint`, default 0.
 * @returns The map; its `byteOffset` is `offset` less the alignment below it.
 * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for an argument of the wrong type
 * (`file`, `length`, `prot`, `flags`, `offset`).
 * @throws `TypeError` `ERR_INVALID_ARG_VALUE` for a `prot` or `flags` that is
 * not one of the constants (or their allowed combinations), or a non-zero
 * `offset` with `ANON`.
 * @throws `RangeError` `ERR_OUT_OF_RANGE` for a region past the end of the
 * file (map it with {@link mapFile} and `grow: true` to extend the file), a
 * negative or fractional `offset`, or a length longer than the runtime's
 * buffer limit.
 * @throws `Error` `ERR_MMAP_BACKEND` where no backend loads.
 * @throws {@link MmapSystemError} where the system refuses (`EBADF`,
 * `EACCES`, `ENODEV` for a file that is not a regular file, `ENOMEM`), with
 * `code`, `errno` and `syscall` (no `path`: a descriptor has none to give).
 * @example Bytes 1,000 to 1,999 of a file, at an offset that need not be aligned
 * ```ts
 * import { openSync, closeSync } from "node:fs";
 * import { mapRegion, RDONLY } from "portable-mmap";
 *
 * const fd = openSync("data.bin", "r");
 * const m = mapRegion(fd, 1000, RDONLY, 0, 1000);
 * closeSync(fd); // the map does not need the descriptor
 * console.log(m.length, m[0]); // 1000, the byte at file offset 1000
 * m.unmap();
 * ```
 * @example Anonymous zero-filled memory
 * ```ts
 * import { ANON, mapRegion, RDWR } from "portable-mmap";
 *
 * const scratch = mapRegion(null, 1 << 20, RDWR, ANON);
 * scratch.fill(7);
 * scratch.unmap();
 * ```
 * @example A region read in at map time, so that the first reads do not wait for the disk
 * ```ts
 * import { openSync, closeSync } from "node:fs";
 * import { mapRegion, POPULATE, RDONLY } from "portable-mmap";
 *
 * const fd = openSync("data.bin", "r");
 * const m = mapRegion(fd, 1 << 20, RDONLY, POPULATE);
 * closeSync(fd);
 * m.unmap();
 * ```
 */
export function mapRegion<P extends number = typeof RDONLY, F extends number = 0>(
  file: FileLike | null,
  length: number | bigint,
  prot?: Checked<P, Prot>,
  flags?: Checked<F, MapFlags>,
  offset?: number | bigint,
): MMap;
/** A {@link Prot} (and {@link MapFlags}) the caller already has, as in a generic wrapper (`<P extends Prot>(prot: P) => ...`): the same function, typed with the constants' own types. The signature above is the one for literals and plain numbers. */
export function mapRegion(
  file: FileLike | null,
  length: number | bigint,
  prot?: Prot,
  flags?: MapFlags,
  offset?: number | bigint,
): MMap;
export function mapRegion(
  file: FileLike | null,
  length: number | bigint,
  prot: number = RDONLY,
  flags: number = 0,
  offset: number | bigint = 0,
): MMap {
  const checkedFlags = checkFlags(flags);
  const fd = (checkedFlags & ANON) !== 0 ? -1 : descriptorOf(file);
  const checkedProt = checkProt(prot);
  const checkedLength = checkLength(length);
  const checkedOffset = checkInteger("offset", offset, 0, Number.MAX_SAFE_INTEGER, true);
  return mapChecked(selectedBackend(), fd, checkedLength, checkedProt, checkedFlags, checkedOffset, false, false);
}

/**
 * Maps a whole file, like Go's `mmap.Map`. An empty file gives an empty map.
 *
 * @typeParam P The type of `prot`, inferred (see {@link Checked}).
 * @typeParam F The type of `flags`, inferred (see {@link Checked}).
 * @param file A descriptor number or a `FileHandle`.
 * @param prot `RDONLY` (default), `RDWR` or `COPY`, maybe with `EXEC`: a {@link Prot}.
 * @param flags 0 (default) or `POPULATE`, a {@link FileMapFlags}: `POPULATE`
 * prefaults the pages at map time, a hint that never fails the map (see
 * {@link POPULATE}). `ANON` needs a length, so use `mapRegion` for it (in
 * TypeScript a literal other than 0 or 2 is a type error).
 * @throws The same as {@link mapRegion}; `ERR_INVALID_ARG_VALUE` for `ANON`.
 * @example
 * ```ts
 * import { openSync } from "node:fs";
 * import { map, RDWR } from "portable-mmap";
 *
 * const m = map(openSync("data.bin", "r+"), RDWR);
 * m[0] = 1; // reaches the file
 * m.flush();
 * m.unmap();
 * ```
 */
export function map<P extends number = typeof RDONLY, F extends number = 0>(
  file: FileLike,
  prot?: Checked<P, Prot>,
  flags?: Checked<F, FileMapFlags>,
): MMap;
/** A {@link Prot} (and {@link FileMapFlags}) the caller already has, as in a generic wrapper (`<P extends Prot>(prot: P) => ...`): the same function, typed with the constants' own types. The signature above is the one for literals and plain numbers. */
export function map(file: FileLike, prot?: Prot, flags?: FileMapFlags): MMap;
export function map(file: FileLike, prot: number = RDONLY, flags: number = 0): MMap {
  if ((checkFlags(flags) & ANON) !== 0)
    throw invalidArgValue("flags", flags, "cannot have ANON for map(); use mapRegion() with a length");
  return mapRegion(file, -1, prot as number, flags, 0);
}

/**
 * Opens a file, maps it and closes the descriptor (the map stays valid).
 * With `RDWR` and `grow: true` it creates a missing file and extends a short
 * one to fit the region first, with its blocks reserved, so that a full disk
 * is `ENOSPC` here rather than a fault later; if the map then fails, the file
 * is put back as it was.
 *
 * Every system error it throws names the file: an {@link MmapSystemError}
 * with `path` set, and the path in the message after the call, as in Node's
 * `fs` errors. That holds for opening the file (`syscall` `open`: `ENOENT`,
 * `EACCES`, `EISDIR`, with the `errno` the runtime gave) as for mapping it
 * (`ENODEV: no such device, mmap 'data.bin'` for a file that is not a regular
 * file).
 *
 * @typeParam P The type of `options.prot`, inferred (see {@link Checked}).
 * @typeParam F The type of `options.flags`, inferred (see {@link Checked}).
 * @param path A path as a string, `Buffer` or `file:` URL: a {@link PathLike}.
 * Its errors show a URL as the file path it names.
 * @param options What to map: `prot`, `flags`, `populate`, `offset`,
 * `length`, `grow`, `keepOpen`; in TypeScript an object literal with any other key is a
 * type error.
 * @throws The same as {@link mapRegion}; `ERR_INVALID_ARG_TYPE` for `options`
 * that is not an object, or a `populate`, `grow` or `keepOpen` that is not a boolean.
 * @throws {@link MmapSystemError} with `path`: from opening the file
 * (`syscall` `open`: `ENOENT`, `EACCES`, `EISDIR`); from mapping it (`ENODEV`,
 * `EACCES`, `ENOMEM`); with `grow`, `ENOSPC` or `EFBIG` where the file cannot
 * be extended (the file as it was).
 * @example Which file failed, and why
 * ```ts
 * import { mapFile, MmapSystemError } from "portable-mmap";
 *
 * try {
 *   mapFile("missing.bin");
 * } catch (error) {
 *   if (error instanceof MmapSystemError) console.log(error.code, error.syscall, error.path); // ENOENT open missing.bin
 * }
 * ```
 * @example A log file of 1 MiB, created if missing
 * ```ts
 * import { mapFile, RDWR } from "portable-mmap";
 *
 * const log = mapFile("log.bin", { prot: RDWR, length: 1 << 20, grow: true });
 * log.set(Buffer.from("hello\n"));
 * log.flush({ offset: 0, length: 6 }); // on the device when this returns
 * log.unmap();
 * ```
 * @example A file read in at map time; populate: true is the same as flags: POPULATE
 * ```ts
 * import { mapFile } from "portable-mmap";
 *
 * const index = mapFile("index.bin", { populate: true });
 * console.log(index.flags); // 2, POPULATE
 * index.unmap();
 * ```
 */
export function mapFile<P extends number = typeof RDONLY, F extends number = 0>(
  path: PathLike,
  options?: MapFileOptions<P, F>,
): MMap;
/** A {@link Prot} (and {@link FileMapFlags}) the caller already has, as in a generic wrapper (`<P extends Prot>(prot: P) => ...`): the same function, typed with the constants' own types. The signature above is the one for literals and plain numbers. */
export function mapFile(path: PathLike, options?: MapFileOptions<Prot, FileMapFlags>): MMap;
export function mapFile(path: PathLike, options: { readonly [K in keyof MapFileOptions]?: unknown } = {}): MMap {
  return mapFileWith(selectedBackend(), path, options);
}

/** The path as Node's errors show it: a URL as the file path it names, bytes as UTF-8. */
function shownPath(path: unknown): string {
  if (typeof path === "string") return path;
  if (path instanceof Uint8Array) return Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString();
  try {
    return fileURLToPath(path as URL);
  } catch {
    return String((path as { href?: unknown } | null)?.href ?? path);
  }
}

/** {@link mapFile} with a given backend (for `portable-mmap check`). */
export function mapFileWith(
  backend: Backend,
  path: PathLike,
  options: { readonly [K in keyof MapFileOptions]?: unknown },
): MMap {
  if (typeof options !== "object" || options === null) throw invalidArgType("options", "of type object", options);
  const prot = checkProt(options.prot ?? RDONLY);
  let flags = checkFlags(options.flags ?? 0, "options.flags");
  if ((flags & ANON) !== 0) throw invalidArgValue("options.flags", flags, "cannot have ANON for mapFile()");
  const populate = options.populate ?? false;
  if (typeof populate !== "boolean") throw invalidArgType("options.populate", "of type boolean", populate);
  if (populate) flags |= POPULATE;
  const length = checkLength(options.length ?? -1);
  const offset = checkInteger("options.offset", options.offset ?? 0, 0, Number.MAX_SAFE_INTEGER, true);
  const grow = options.grow ?? false;
  if (typeof grow !== "boolean") throw invalidArgType("options.grow", "of type boolean", grow);
  const keepOpen = options.keepOpen ?? false;
  if (typeof keepOpen !== "boolean") throw invalidArgType("options.keepOpen", "of type boolean", keepOpen);
  // RDWR with grow creates a missing file (like O_CREAT); anything else needs it to exist.
  // If mapping then fails, a file created here is removed again.
  const file = path as string | Buffer | URL; // the runtime's fs checks its type
  let fd: number;
  let created = false;
  try {
    if (grow && isShared(prot)) {
      try {
        fd = openSync(file, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL);
        created = true;
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
        fd = openSync(file, "r+");
      }
    } else {
      fd = openSync(file, isShared(prot) ? "r+" : "r");
    }
  } catch (error) {
    throw withPath(fromNodeError(error, "open"), shownPath(path));
  }
  try {
    return mapChecked(backend, fd, length, prot, flags, offset, grow, true, keepOpen);
  } catch (error) {
    withPath(error, shownPath(path));
    closeSync(fd);
    if (created) {
      try {
        unlinkSync(file);
      } catch {
        // The mapping error is the one to report.
      }
    }
    throw error;
  }
}
