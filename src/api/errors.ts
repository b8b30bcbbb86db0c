/**
 * The one error shape of the package, modelled on Node's own errors: system
 * failures carry `code`, a negative `errno` and `syscall`; bad arguments are
 * `TypeError` / `RangeError` with Node's `ERR_*` codes.
 */
import * as os from "node:os";
import * as util from "node:util";

/**
 * Codes of the errors this package throws that are not system errors; the
 * troubleshooting guide says what to do about each.
 *
 * @example
 * ```ts
 * import { ErrorCodes } from "portable-mmap";
 *
 * try {
 *   m.flush();
 * } catch (error) {
 *   if ((error as { code?: string }).code === ErrorCodes.UNMAPPED) console.log("already unmapped");
 *   else throw error;
 * }
 * ```
 */
export const ErrorCodes = {
  /** A method was called on an `MMap` after `unmap()`. */
  UNMAPPED: "ERR_MMAP_UNMAPPED",
  /**
   * The map's memory was moved to another `ArrayBuffer` (`transfer()`, a BYOB
   * stream read, `postMessage` with a transfer list): only `unmap()` works.
   */
  DETACHED: "ERR_MMAP_DETACHED",
  /**
   * The file could not back a page of the map: another process truncated it,
   * or writing a page back failed (disk full, I/O error). The page reads as
   * zeros and writes to it are lost.
   */
  FAULT: "ERR_MMAP_FAULT",
  /**
   * `fileSize()` or `resize()` on a file map that does not keep its file
   * open: map it with `mapFile(path, { keepOpen: true })`.
   */
  NO_FILE: "ERR_MMAP_NO_FILE",
  /**
   * The selected backend or the system cannot do this at all; the message
   * says what and what to do instead: the fallback cannot share memory by
   * name (`openSharedMemory`, `unlinkSharedMemory`); Windows before
   * placeholders cannot truncate under `resize()`.
   */
  UNSUPPORTED: "ERR_MMAP_UNSUPPORTED",
  /**
   * A `TypeError`: an {@link MMapCursor} was asked to write to a map whose
   * pages do not accept writes (`pagesWritable` is false: an `RDONLY | EXEC`
   * map, or one after `protect(RDONLY)`), where the write would fault the process.
   */
  READ_ONLY: "ERR_MMAP_READ_ONLY",
  /** No backend could be loaded, or a forced one failed to load. */
  BACKEND: "ERR_MMAP_BACKEND",
  /** `new MMap(...)` by user code: maps are made by `map`, `mapRegion` and `mapFile`. */
  ILLEGAL_CONSTRUCTOR: "ERR_ILLEGAL_CONSTRUCTOR",
  /** A `TypeError`: an argument of the wrong type (Node's code). */
  INVALID_ARG_TYPE: "ERR_INVALID_ARG_TYPE",
  /** A `TypeError`: an argument of the right type but not an allowed value (Node's code). */
  INVALID_ARG_VALUE: "ERR_INVALID_ARG_VALUE",
  /** A `RangeError`: a number out of range, such as a region past the end of the file (Node's code). */
  OUT_OF_RANGE: "ERR_OUT_OF_RANGE",
} as const;

/**
 * A failed system call, shaped like Node's `SystemError`: the message reads
 * `EACCES: permission denied, mmap`. Every backend reports failures with it.
 *
 * @example
 * ```ts
 * try {
 *   mapRegion(12345, 4096); // not an open descriptor
 * } catch (error) {
 *   if (error instanceof MmapSystemError) console.log(error.message); // EBADF: bad file descriptor, fstat
 * }
 * ```
 */
export class MmapSystemError extends Error {
  /** POSIX-style name, for example `EACCES`. */
  readonly code: string;
  /** Negative error number, as Node reports it (`-13` for EACCES on Linux). */
  errno: number;
  /** The failing call, for example `mmap` or `MapViewOfFile`. */
  readonly syscall: string;
  /** The Windows error number, where the failure came from a Win32 call. */
  win32?: number;
  /**
   * The file, where the call that failed knows it: {@link mapFile} sets it on
   * every system error it throws, from opening the file as from mapping it,
   * and the message names it after the call as Node's `fs` errors do
   * (`ENOENT: no such file or directory, open 'data.bin'`). Maps of a
   * descriptor (`map`, `mapRegion`) have no path to give.
   * {@link openSharedMemory} and {@link unlinkSharedMemory} set it to the
   * segment's name, as given.
   */
  path?: string;

  /** Made by the package; user code has no need to. */
  constructor(message: string, code: string, errno: number, syscall: string) {
    super(message);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** An error with a Node-style `code` property. */
export interface CodedError extends Error {
  code: string;
}

// Node's own table of libuv errors: negative number -> [name, message].
const uvErrors: Map<number, [string, string]> =
  typeof util.getSystemErrorMap === "function" ? util.getSystemErrorMap() : new Map();

function uvEntryByName(name: string): [number, string] | undefined {
  for (const [errno, [entryName, message]] of uvErrors) {
    if (entryName === name) return [errno, message];
  }
  return undefined;
}

/** Name of a positive host errno value (as returned by the C library), e.g. 13 -> EACCES. */
function errnoName(errno: number): string {
  const uv = uvErrors.get(-errno);
  if (uv) return uv[0];
  for (const [name, value] of Object.entries(os.constants.errno)) {
    if (value === errno) return name;
  }
  return `E${errno}`;
}

function coded<T extends Error>(error: T, code: string): T & CodedError {
  Object.defineProperty(error, "code", { value: code, enumerable: true, writable: true, configurable: true });
  // Node puts the code in the name shown by stack traces: "TypeError [ERR_X]: ...".
  error.stack = error.stack?.replace(/^(\w*Error)/, `$1 [${code}]`);
  return error as T & CodedError;
}

/**
 * A system error from a POSIX errno: a positive host errno number (what the C
 * library sets) or its name.
 */
export function systemError(errno: number | string, syscall: string, path?: string): MmapSystemError {
  const name = typeof errno === "number" ? errnoName(errno) : errno;
  const entry = uvEntryByName(name);
  const number = entry
    ? entry[0]
    : typeof errno === "number"
      ? -errno
      : -((os.constants.errno as Record<string, number | undefined>)[name] ?? 0);
  const description = entry ? entry[1] : "unknown error";
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const error = new MmapSystemError(`${name}: ${description}, ${where}`, name, number, syscall);
  if (path !== undefined) error.path = path;
  return error;
}

/**
 * Names `path` in a system error of an operation on that file (the message as
 * Node's: `ENODEV: no such device, mmap 'data.bin'`); other errors are
 * returned as they are.
 */
export function withPath<T>(error: T, path: string): T {
  if (!(error instanceof MmapSystemError)) return error;
  if (error.path === undefined) {
    const before = error.message;
    const stack = error.stack; // read first: V8 formats it when first read, with the message of then
    const at = before.indexOf(`, ${error.syscall}`);
    const end = at < 0 ? before.length : at + 2 + error.syscall.length;
    error.message = `${before.slice(0, end)} '${path}'${before.slice(end)}`;
    if (stack?.includes(before)) error.stack = stack.replace(before, error.message);
  }
  error.path = path;
  return error;
}

// Win32 error numbers (winerror.h) -> the POSIX-style code libuv uses for them.
const win32Codes: Record<number, string> = {
  1: "EINVAL", // ERROR_INVALID_FUNCTION
  2: "ENOENT", // ERROR_FILE_NOT_FOUND
  3: "ENOENT", // ERROR_PATH_NOT_FOUND
  5: "EACCES", // ERROR_ACCESS_DENIED
  6: "EBADF", // ERROR_INVALID_HANDLE
  8: "ENOMEM", // ERROR_NOT_ENOUGH_MEMORY
  14: "ENOMEM", // ERROR_OUTOFMEMORY
  19: "EROFS", // ERROR_WRITE_PROTECT
  32: "EBUSY", // ERROR_SHARING_VIOLATION
  33: "EBUSY", // ERROR_LOCK_VIOLATION
  50: "ENOTSUP", // ERROR_NOT_SUPPORTED
  87: "EINVAL", // ERROR_INVALID_PARAMETER
  112: "ENOSPC", // ERROR_DISK_FULL
  120: "ENOSYS", // ERROR_CALL_NOT_IMPLEMENTED
  123: "EINVAL", // ERROR_INVALID_NAME
  170: "EBUSY", // ERROR_BUSY
  183: "EEXIST", // ERROR_ALREADY_EXISTS (a named section that exists)
  487: "EINVAL", // ERROR_INVALID_ADDRESS
  1006: "ENODEV", // ERROR_FILE_INVALID (mapping an empty or truncated file)
  1132: "EINVAL", // ERROR_MAPPED_ALIGNMENT
  1224: "EBUSY", // ERROR_USER_MAPPED_FILE
  1453: "ENOMEM", // ERROR_WORKING_SET_QUOTA
  1455: "ENOMEM", // ERROR_COMMITMENT_LIMIT
};

/** A system error from a Win32 `GetLastError()` value; the number is kept as `win32`. */
export function win32Error(win32: number, syscall: string): MmapSystemError {
  const error = systemError(win32Codes[win32] ?? "EIO", syscall);
  error.win32 = win32;
  error.message += ` (Windows error ${win32})`;
  return error;
}

/** Turns an error thrown by `node:fs` into the shared shape (it already is close). */
export function fromNodeError(cause: unknown, syscall?: string): Error {
  const e = cause as Partial<MmapSystemError>;
  if (e && typeof e.code === "string" && typeof e.errno === "number") {
    const error = systemError(e.code, syscall ?? e.syscall ?? "unknown", e.path);
    error.errno = e.errno;
    return error;
  }
  // Deno's node:fs errors carry the code alone: the number comes from the code.
  if (e && typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code)) {
    return systemError(e.code, syscall ?? e.syscall ?? "unknown", e.path);
  }
  return cause instanceof Error ? cause : new Error(String(cause));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === "function") return `Received function ${value.name || "<anonymous>"}`;
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${util.inspect(value, { depth: -1 })}`;
  }
  let shown = util.inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

/** `TypeError [ERR_INVALID_ARG_TYPE]`: The "name" argument must be of type X. */
export function invalidArgType(name: string, expected: string, value: unknown): TypeError & CodedError {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. ${describe(value)}`),
    ErrorCodes.INVALID_ARG_TYPE,
  );
}

/** `Error [ERR_MMAP_NO_FILE]`: the map has no descriptor of its file to ask. */
export function noFileError(method: string): CodedError {
  return coded(
    new Error(
      `Cannot call ${method}(): this map does not keep its file open; map it with mapFile(path, { keepOpen: true })`,
    ),
    ErrorCodes.NO_FILE,
  );
}

/** `Error [ERR_MMAP_UNSUPPORTED]`: what was asked cannot be done here. */
export function unsupportedError(message: string): CodedError {
  return coded(new Error(message), ErrorCodes.UNSUPPORTED);
}

/** `TypeError [ERR_MMAP_READ_ONLY]`: `method` would write to pages that do not accept writes. */
export function readOnlyError(method: string): TypeError & CodedError {
  return coded(
    new TypeError(
      `Cannot call ${method}(): the map's pages do not accept writes (pagesWritable is false: mapped RDONLY | EXEC, or protect(RDONLY)); a write would fault the process`,
    ),
    ErrorCodes.READ_ONLY,
  );
}

/** `TypeError [ERR_ILLEGAL_CONSTRUCTOR]`: a constructor that is not public. */
export function illegalConstructor(message: string): TypeError & CodedError {
  return coded(new TypeError(message), ErrorCodes.ILLEGAL_CONSTRUCTOR);
}

/** `TypeError [ERR_INVALID_ARG_VALUE]`: The argument 'name' is invalid. */
export function invalidArgValue(name: string, value: unknown, reason = "is invalid"): TypeError & CodedError {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${util.inspect(value)}`),
    ErrorCodes.INVALID_ARG_VALUE,
  );
}

/** `RangeError [ERR_OUT_OF_RANGE]`: The value of "name" is out of range. */
export function outOfRange(name: string, range: string, value: unknown): RangeError & CodedError {
  const shown = typeof value === "bigint" ? `${value}n` : String(value);
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`),
    ErrorCodes.OUT_OF_RANGE,
  );
}

/** `Error [ERR_MMAP_UNMAPPED]`: the MMap was unmapped. */
export function unmappedError(method: string): CodedError {
  return coded(new Error(`Cannot call ${method}() on an MMap after unmap()`), ErrorCodes.UNMAPPED);
}

const moved =
  "the MMap's memory was moved to another ArrayBuffer (ArrayBuffer.prototype.transfer(), a BYOB stream read, postMessage with a transfer list)";

/** `Error [ERR_MMAP_DETACHED]`: `method` was called after the map's memory was moved out of its buffer. */
export function detachedError(method: string): CodedError {
  return coded(new Error(`Cannot call ${method}(): ${moved}; only unmap() works on it now`), ErrorCodes.DETACHED);
}

/** `Error [ERR_MMAP_DETACHED]` from `unmap()` of a map that keeps its changes in its own buffer (the fallback). */
export function lostChangesError(): CodedError {
  return coded(
    new Error(`unmap() could not write back the changes made since the last flush(): ${moved} before unmap()`),
    ErrorCodes.DETACHED,
  );
}

/** An `ERR_MMAP_FAULT` error: where the file failed the map. */
export interface FaultError extends CodedError {
  /** The file offset of the first page that could not be read or written back. */
  fileOffset: number;
}

/** `Error [ERR_MMAP_FAULT]`: the file could not back the page at `fileOffset` (SIGBUS, handled). */
export function faultError(fileOffset: number): FaultError {
  const error = coded(
    new Error(
      `The file behind this MMap could not back the page at file offset ${fileOffset}: another process truncated the file, or writing the page failed (EIO, ENOSPC: the disk is full or failing). The page reads as zeros and writes to it are lost; unmap() and map the file again`,
    ),
    ErrorCodes.FAULT,
  ) as FaultError;
  error.fileOffset = fileOffset;
  return error;
}

/**
 * EBUSY from `unmap()` where the runtime refuses to detach the map's buffer
 * because native code is still working on it (Bun pins such buffers).
 */
export function busyError(syscall: string): MmapSystemError {
  const error = systemError("EBUSY", syscall);
  error.message +=
    ": the map's buffer is in use by an operation still running (for example fs.read or zlib); try again once it has completed (unmap() and resize() leave the map as it was)";
  return error;
}

/** `Error [ERR_MMAP_BACKEND]`: selection failed. */
export function backendError(message: string): CodedError {
  return coded(new Error(message), ErrorCodes.BACKEND);
}
