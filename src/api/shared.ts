/**
 * Named shared memory: `openSharedMemory` and `unlinkSharedMemory`. The name
 * and options are checked here, once, the same on every system; then POSIX
 * backends open a descriptor (`shm_open`) that goes down the ordinary file
 * path (`mapChecked`, which keeps it for the map), and Windows backends map a
 * named section of the paging file.
 */
import type { Backend, Section, SharedOpen } from "../backends/contract.js";
import { maxLength } from "./buffers.js";
import { type Checked, COPY, RDONLY, RDWR } from "./constants.js";
import {
  fromNodeError,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  systemError,
  unsupportedError,
  withPath,
} from "./errors.js";
import { fileSize, growFile, setFileSize } from "./file.js";
import { adoptDescriptor, closeDescriptor } from "./lifetime.js";
import { checkLimitOf } from "./limits.js";
import { mapChecked } from "./map.js";
import { adoptMapping, type MMap } from "./mmap.js";
import { selectedBackend } from "./select.js";
import { checkInteger } from "./validate.js";

/** A protection {@link openSharedMemory} takes: `RDWR`, `RDONLY` or `COPY` (no `EXEC`). */
export type SharedProt = typeof RDONLY | typeof RDWR | typeof COPY;

/**
 * Options of {@link openSharedMemory}. An object literal with any other key
 * is a type error; at run time other keys are ignored. Each is read once.
 *
 * @typeParam P The type of `prot`, inferred (see {@link Checked}).
 */
export interface SharedMemoryOptions<P extends number = number> {
  /**
   * Bytes to map, `number` or `bigint`, > 0. Required with `create` (the size
   * of a new segment). Opening one that exists: omitted maps all of it; a
   * size past its end is `ERR_OUT_OF_RANGE`, unless `create` without
   * `exclusive`, which grows it (POSIX; a Windows segment cannot grow).
   */
  size?: number | bigint;
  /** Create the segment if it is missing (it then needs `size`, and `prot` `RDWR`). Default false. */
  create?: boolean;
  /** With `create`: fail with `EEXIST` if the segment exists. Default false. */
  exclusive?: boolean;
  /**
   * `RDWR` (the default): reads and writes shared with every process that
   * maps the segment. `RDONLY`: opened read-only, a stray write changes only
   * this process's view (as for files). `COPY`: copy-on-write, writes stay
   * in this process.
   */
  prot?: Checked<P, SharedProt>;
}

/** The longest name, in UTF-8 bytes without the leading `/`: Linux's NAME_MAX. */
export const MAX_SHARED_NAME = 255;

/** macOS: `PSHMNAMLEN` is 31 bytes, the leading `/` included. */
const DARWIN_MAX_NAME = 30;

const prots: readonly number[] = [RDWR, RDONLY, COPY];

/** The name a system error shows: ENAMETOOLONG with the limit that applies. */
function tooLong(name: string, syscall: string, limit: number, why: string): Error {
  const error = withPath(systemError("ENAMETOOLONG", syscall), name);
  error.message += `: a shared memory name may have at most ${limit} bytes (UTF-8) after its leading "/"${why}`;
  return error;
}

/**
 * Checks a segment's name and returns it without its leading `/`. The rules
 * are the same on every system, so that a name that works on one works on
 * all (macOS's shorter limit aside).
 */
export function checkSharedName(name: unknown, syscall: string): string {
  if (typeof name !== "string") throw invalidArgType("name", "of type string", name);
  const bare = name.startsWith("/") ? name.slice(1) : name;
  if (bare.length === 0) throw invalidArgValue("name", name, "must not be empty (a leading / aside)");
  if (/[/\\\0]/.test(bare)) throw invalidArgValue("name", name, "must not contain /, \\ or NUL (but one leading /)");
  if (bare === "." || bare === "..") throw invalidArgValue("name", name, 'must not be "." or ".."');
  // A lone surrogate would be encoded as U+FFFD: two names would open one segment.
  const wellFormed = (bare as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof wellFormed === "function" ? !wellFormed.call(bare) : /\p{Cs}/u.test(bare))
    throw invalidArgValue("name", name, "must be well-formed Unicode (no lone surrogates)");
  const bytes = Buffer.byteLength(bare, "utf8");
  if (bytes > MAX_SHARED_NAME) throw tooLong(name, syscall, MAX_SHARED_NAME, " (NAME_MAX on Linux)");
  if (process.platform === "darwin" && bytes > DARWIN_MAX_NAME)
    throw tooLong(name, syscall, DARWIN_MAX_NAME, " on macOS (PSHMNAMLEN: 31 bytes with the /)");
  return bare;
}

/** The selected backend, if it can share memory by name; else `ERR_MMAP_UNSUPPORTED` saying why. */
function sharingBackend(what: string): Backend {
  const backend = selectedBackend();
  if (backend.capabilities.sharesMemoryByName) return backend;
  const why =
    backend.name === "fallback"
      ? "the fallback backend emulates maps by reading and writing files, so no other process can see its memory (docs/fallback.md); install the native addon or koffi"
      : `the ${backend.name} backend cannot here (an addon built from older sources: rebuild it)`;
  throw unsupportedError(`${what} is not supported by this backend: ${why}`);
}

function checkBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw invalidArgType(name, "of type boolean", value);
  return value;
}

/** What the options ask for, checked. */
interface Request {
  size: number | undefined;
  create: boolean;
  exclusive: boolean;
  prot: SharedProt;
}

function checkOptions(options: unknown): Request {
  if (typeof options !== "object" || options === null) throw invalidArgType("options", "of type object", options);
  const o = options as { readonly [K in keyof SharedMemoryOptions]?: unknown };
  // Each read once, before any check: a getter runs once.
  const [rawSize, rawCreate, rawExclusive, rawProt] = [o.size, o.create, o.exclusive, o.prot];
  const create = checkBoolean("options.create", rawCreate);
  const exclusive = checkBoolean("options.exclusive", rawExclusive);
  if (exclusive && !create) throw invalidArgValue("options.exclusive", exclusive, "needs create: true");
  const prot = rawProt ?? RDWR;
  if (typeof prot !== "number") throw invalidArgType("options.prot", "of type number", prot);
  if (!prots.includes(prot)) throw invalidArgValue("options.prot", prot, "must be RDWR, RDONLY or COPY");
  if (create && prot !== RDWR) throw invalidArgValue("options.prot", prot, "must be RDWR with create: true");
  const size = rawSize === undefined ? undefined : checkInteger("options.size", rawSize, 1, maxLength, true);
  if (create && size === undefined) throw outOfRange("options.size", "> 0 with create: true", rawSize);
  return { size, create, exclusive, prot: prot as SharedProt };
}

/** `size` past the end of a segment of `current` bytes that may not grow. */
function pastEnd(size: number, current: number, howToGrow: string): Error {
  return outOfRange("options.size", `<= ${current}, the size of the existing segment${howToGrow}`, size);
}

/** Sets a segment's size: blocks reserved (a full /dev/shm is ENOSPC now, not SIGBUS later), except on macOS. */
function sizeSegment(backend: Backend, fd: number, from: number, to: number): void {
  if (process.platform !== "darwin") {
    growFile(backend, fd, from, from, to);
    return;
  }
  // macOS reserves nothing for shared memory, and sets a segment's size once.
  try {
    setFileSize(fd, to);
  } catch (error) {
    throw fromNodeError(error, "ftruncate");
  }
}

/** POSIX: `shm_open`, sized, then the ordinary map path, which keeps the descriptor. */
function openPosix(backend: Backend, how: SharedOpen, r: Request): MMap {
  const shmOpen = backend.shmOpen as NonNullable<Backend["shmOpen"]>;
  let fd = -1;
  let created = false;
  if (r.create) {
    // O_EXCL first, to know whether this call made it (and must size it, or remove it on failure).
    try {
      fd = shmOpen({ ...how, create: true, exclusive: true });
      created = true;
    } catch (error) {
      if (r.exclusive || (error as { code?: string }).code !== "EEXIST") throw error;
    }
    // It exists: open it, or, if it was removed meanwhile, create it again (a few tries).
    for (let tries = 0; fd < 0; tries++) {
      try {
        fd = shmOpen({ ...how, create: false, exclusive: false });
      } catch (error) {
        if (tries >= 3 || (error as { code?: string }).code !== "ENOENT") throw error;
        try {
          fd = shmOpen({ ...how, create: true, exclusive: true });
          created = true;
        } catch (again) {
          if ((again as { code?: string }).code !== "EEXIST") throw again;
        }
      }
    }
  } else {
    fd = shmOpen({ ...how, create: false, exclusive: false });
  }
  // From now on the map owns it, and it is closed the backend's way.
  if (backend.closeDescriptor) adoptDescriptor(fd, backend.closeDescriptor);
  try {
    const current = created ? 0 : fileSize(backend, fd);
    if (current < 0) {
      // Something else was put at the name (a FIFO, say): no segment, and nothing to map or grow.
      const error = systemError("ENODEV", "mmap");
      error.message += ": the name is not a shared memory segment (not a regular file)";
      throw error;
    }
    const length = r.size ?? current;
    if (length > maxLength) {
      throw outOfRange(
        "options.size",
        `<= ${maxLength} (the runtime's largest buffer): the segment has ${current} bytes; pass a size to map its start`,
        length,
      );
    }
    if (created) {
      sizeSegment(backend, fd, 0, length);
    } else if (length > current) {
      if (!r.create || r.exclusive) throw pastEnd(length, current, "; create: true grows it");
      if (current > 0 && process.platform === "darwin") {
        throw pastEnd(length, current, " (macOS sets a segment's size once: it cannot grow)");
      }
      sizeSegment(backend, fd, current, length);
    }
    return mapChecked(backend, fd, length, r.prot, 0, 0, false, true, true);
  } catch (error) {
    closeDescriptor(fd);
    if (created) {
      try {
        backend.shmUnlink?.(how.name);
      } catch {
        // The error that made us undo is the one to report.
      }
    }
    throw error;
  }
}

/** Windows: a named section of the paging file, one view of it, and the section's handle closed (the view keeps it). */
function openWindows(backend: Backend, how: SharedOpen, r: Request): MMap {
  const section: Section = (backend.openSection as NonNullable<Backend["openSection"]>)(how, r.size ?? 0);
  try {
    const length = r.size ?? section.size;
    if (length > section.size) throw pastEnd(length, section.size, " (a segment cannot grow on Windows)");
    if (length > maxLength) throw outOfRange("options.size", `<= ${maxLength} (the runtime's largest buffer)`, length);
    checkLimitOf(backend);
    const shared = r.prot === RDWR;
    const mapping = (backend.mapSection as NonNullable<Backend["mapSection"]>)(section.handle, {
      fd: -1,
      offset: 0,
      length,
      shared,
      writable: true,
      exec: false,
      anon: false,
      populate: false,
    });
    return adoptMapping(backend, mapping, length, r.prot, 0, true, section.size);
  } finally {
    backend.closeSection?.(section.handle);
  }
}

/**
 * Opens (or creates) memory that other processes open by the same name, and
 * maps it: Python's `multiprocessing.shared_memory.SharedMemory`, POSIX
 * `shm_open` + `mmap`, Windows `CreateFileMappingW` with a name. Writes
 * through an `RDWR` map are seen at once by every process (and worker
 * thread) that maps the segment; `Atomics` on an `Int32Array` over the map
 * work across processes.
 *
 * The name: a string, with one optional leading `/` (the same segment with
 * or without it), then at least one character and no `/`, `\` or NUL; at
 * most 255 bytes in UTF-8 (31 with the `/` on macOS). POSIX names are
 * case-sensitive, Windows names are not. On Windows it is `Local\<name>`:
 * seen by the processes of the same session.
 *
 * Lifetime: on POSIX a segment lives until {@link unlinkSharedMemory} and
 * the last map of it is gone (like a file in a memory file system,
 * `/dev/shm` on Linux, whose size limits how much all segments can hold).
 * On Windows it lives while a process maps it (or holds a handle): the
 * memory goes when the last map is unmapped, and there is no name to remove.
 *
 * The map keeps the segment's descriptor (POSIX) until it is unmapped or
 * collected, so that {@link MMap.fileSize} reports the segment's current
 * size. An existing segment of size 0 (another process created it and has
 * not sized it yet) gives an empty map when `size` is omitted.
 *
 * @typeParam P The type of `options.prot`, inferred (see {@link Checked}).
 * @param name The segment's name, for example `"/my-app-cache"` or `"my-app-cache"`.
 * @param options `size`, `create`, `exclusive`, `prot`: see {@link SharedMemoryOptions}.
 * @returns The map over the segment's first `size` bytes (all of it if `size` is omitted).
 * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for a `name` that is not a
 * string, `options` that is not an object, or an option of the wrong type.
 * @throws `TypeError` `ERR_INVALID_ARG_VALUE` for a name that breaks the
 * rules above, a `prot` other than `RDWR`, `RDONLY` or `COPY` (`RDWR` with
 * `create`), or `exclusive` without `create`.
 * @throws `RangeError` `ERR_OUT_OF_RANGE` for a `size` that is not a
 * positive integer, missing with `create`, or past the end of an existing
 * segment (unless `create` without `exclusive` on POSIX, which grows it).
 * @throws `Error` `ERR_MMAP_UNSUPPORTED` on the fallback backend, which
 * cannot share memory.
 * @throws {@link MmapSystemError} with `path` set to `name`: `ENOENT`
 * (no such segment, without `create`), `EEXIST` (with `exclusive`), `EACCES`,
 * `ENAMETOOLONG` (with the limit in the message), `ENOSPC` (`/dev/shm` is
 * full), `ENOMEM`, `ENODEV` (something other than a segment has the name:
 * a FIFO in `/dev/shm`, say); `syscall` `shm_open`, `OpenFileMappingW`,
 * `CreateFileMappingW`, `mmap`, `MapViewOfFile`.
 * @example Two processes share a counter
 * ```ts
 * import { openSharedMemory, unlinkSharedMemory } from "portable-mmap";
 *
 * // In the first process:
 * const m = openSharedMemory("/my-app-counter", { size: 4096, create: true });
 * const counter = new Int32Array(m.buffer, m.byteOffset, 1);
 * Atomics.add(counter, 0, 1);
 *
 * // In the second (started later): the same name, no size needed.
 * const other = openSharedMemory("/my-app-counter");
 * console.log(Atomics.load(new Int32Array(other.buffer, other.byteOffset, 1), 0)); // 1
 *
 * // When done (POSIX: the name goes now, the memory with the last map):
 * other.unmap();
 * m.unmap();
 * unlinkSharedMemory("/my-app-counter");
 * ```
 */
export function openSharedMemory<P extends number = typeof RDWR>(name: string, options?: SharedMemoryOptions<P>): MMap;
/** A {@link SharedProt} the caller already has: the same function, typed with the constants' own types. */
export function openSharedMemory(name: string, options?: SharedMemoryOptions<SharedProt>): MMap;
export function openSharedMemory(
  name: string,
  options: { readonly [K in keyof SharedMemoryOptions]?: unknown } = {},
): MMap {
  return openSharedMemoryWith(undefined, name, options);
}

/** @internal {@link openSharedMemory} with a given backend (unit tests); undefined: the selected one. */
export function openSharedMemoryWith(
  given: Backend | undefined,
  name: string,
  options: { readonly [K in keyof SharedMemoryOptions]?: unknown },
): MMap {
  const request = checkOptions(options);
  const windowsCall = request.create ? "CreateFileMappingW" : "OpenFileMappingW";
  const bare = checkSharedName(name, process.platform === "win32" ? windowsCall : "shm_open");
  const backend = given ?? sharingBackend("openSharedMemory()");
  if (request.prot === COPY && process.platform === "darwin") {
    throw unsupportedError(
      "openSharedMemory() cannot map a segment with COPY on macOS: the system maps shared memory only shared (MAP_SHARED); map it RDWR and copy the bytes you need",
    );
  }
  const how: SharedOpen = {
    name: bare,
    create: request.create,
    exclusive: request.exclusive,
    writable: request.prot === RDWR,
  };
  try {
    return backend.openSection ? openWindows(backend, how, request) : openPosix(backend, how, request);
  } catch (error) {
    throw withPath(error, name);
  }
}

/**
 * Removes a segment's name (POSIX `shm_unlink`): no process can open it any
 * more, and a new segment may take the name; maps of it stay valid, and its
 * memory goes with the last of them.
 *
 * On Windows there is no name to remove: a segment goes when the last
 * process that maps it unmaps it (or ends). There this only checks the name.
 *
 * @param name The segment's name, as {@link openSharedMemory} takes it.
 * @throws `TypeError` `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` for a
 * name that breaks the rules of {@link openSharedMemory}.
 * @throws `Error` `ERR_MMAP_UNSUPPORTED` on the fallback backend.
 * @throws {@link MmapSystemError} with `path` set to `name`: `ENOENT` (no
 * such segment), `EACCES`, `ENAMETOOLONG`; `syscall` `shm_unlink`.
 * @example Remove the name whatever happens
 * ```ts
 * import { openSharedMemory, unlinkSharedMemory } from "portable-mmap";
 *
 * const name = `/job-${process.pid}`;
 * const m = openSharedMemory(name, { size: 1 << 20, create: true, exclusive: true });
 * try {
 *   // ... hand `name` to the workers or child processes ...
 * } finally {
 *   m.unmap();
 *   unlinkSharedMemory(name);
 * }
 * ```
 */
export function unlinkSharedMemory(name: string): void {
  const bare = checkSharedName(name, "shm_unlink");
  const backend = sharingBackend("unlinkSharedMemory()");
  if (!backend.shmUnlink) return; // Windows: the segment goes with its last handle or view
  try {
    backend.shmUnlink(bare);
  } catch (error) {
    throw withPath(error, name);
  }
}
