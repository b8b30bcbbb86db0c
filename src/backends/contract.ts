/**
 * The contract every backend implements: only the system-level primitives.
 *
 * Everything a user can get wrong (argument types, ranges, alignment, the
 * end of the file, use after unmap) is checked once in `src/api` before a
 * backend is called, so a backend may trust its arguments:
 * - `offset` is a non-negative safe integer aligned to `allocationGranularity`;
 * - `length` is > 0 and at most the runtime's maximum buffer length;
 * - ranges passed to `flush`, `lock`, ... start on a page boundary, lie
 *   inside the mapping, are relative to the start of the mapping (its
 *   `buffer`), and have length > 0 (not always a page multiple);
 * - a handle is never used after `unmap` returned.
 *
 * A backend reports failures only with `systemError` / `win32Error` from
 * `src/api/errors.ts`, never with anything else.
 */

/** The three backends, in the order automatic selection tries them. */
export type BackendName = "native" | "koffi" | "fallback";

/** How a region is mapped, derived by the API from the public `prot`/`flags`. */
export interface MapRequest {
  /** File descriptor, or -1 for an anonymous mapping. */
  readonly fd: number;
  /** File offset of the mapping's first byte, aligned to `allocationGranularity`. */
  readonly offset: number;
  /** Bytes to map from `offset`, > 0 (need not be a page multiple). */
  readonly length: number;
  /**
   * true: writes reach the file (MAP_SHARED / FILE_MAP_WRITE).
   * false: copy-on-write, writes stay in this process (MAP_PRIVATE / FILE_MAP_COPY).
   */
  readonly shared: boolean;
  /**
   * Pages may be written. The API asks for writable pages for every map: a
   * read-only `prot` is mapped private (copy-on-write) and writable, so that a
   * stray write from JavaScript never faults the process; it only never
   * reaches the file. Backends add MAP_NORESERVE to private file maps where the
   * OS has it, so that a huge read-only map is not charged as committed memory.
   */
  readonly writable: boolean;
  /** Pages may be executed (PROT_EXEC / PAGE_EXECUTE_*). */
  readonly exec: boolean;
  /** No file: zero-filled memory (MAP_ANONYMOUS / pagefile-backed section). */
  readonly anon: boolean;
}

/** What `map` hands back to the API. */
export interface Mapping<H> {
  /**
   * Covers exactly the mapped bytes `[offset, offset + length)` of the request.
   * `unmap` must leave it detached (byteLength 0) where the backend's
   * `capabilities.detachesOnUnmap` is true.
   */
  readonly buffer: ArrayBuffer;
  /** Backend-private state; must not reference `buffer` (it is held by a FinalizationRegistry). */
  readonly handle: H;
}

/** Advice for `advise`; every value is a hint that never changes the contents. */
export type Advice = "normal" | "random" | "sequential" | "willneed" | "dontneed";

/**
 * How a backend differs from a real mapping. The conformance suite asserts
 * each documented difference through these flags instead of skipping.
 */
export interface Capabilities {
  /**
   * The memory is the file's page cache: writes through a shared (RDWR) map
   * are seen by `read()` before any flush, and writes by others are seen in the map.
   */
  readonly sharesPageCache: boolean;
  /** `lock` really pins pages in RAM. */
  readonly locksMemory: boolean;
  /** `protect` changes the hardware protection of the pages. */
  readonly enforcesProtection: boolean;
  /** `residency` reports what the OS really has in RAM (else every page is 1). */
  readonly reportsResidency: boolean;
  /** `unmap` detaches the buffer, so every view reads length 0 afterwards. */
  readonly detachesOnUnmap: boolean;
  /** `flushAsync` does its work off the JavaScript thread. */
  readonly flushesOffThread: boolean;
  /**
   * The backend uses the caller's descriptor after `map` returns, so it must
   * stay open until `unmap` (the API keeps descriptors it opened itself).
   */
  readonly needsDescriptor: boolean;
}

/** One backend: a thin layer over the operating system's mapping calls. */
export interface Backend<H = unknown> {
  readonly name: BackendName;
  /** The virtual memory page size. */
  readonly pageSize: number;
  /** What mapping offsets must be a multiple of (64 KiB on Windows, else the page size). */
  readonly allocationGranularity: number;
  readonly capabilities: Capabilities;
  /**
   * Optional fast path for the API's size check: the size of the file behind
   * `fd` if it is a regular file, else -1. Without it the API uses `fstatSync`.
   */
  fileSize?(fd: number): number;
  /** Maps a region. Throws the shared system error (for example EACCES from mmap). */
  map(request: MapRequest): Mapping<H>;
  /** Writes dirty pages of the range to the file and waits for the device (msync MS_SYNC). */
  flush(handle: H, offset: number, length: number): void;
  /**
   * The same as `flush`, off the JavaScript thread where the backend can.
   * `unmap` may be called while this is pending: the backend must stay memory-safe.
   */
  flushAsync(handle: H, offset: number, length: number): Promise<void>;
  lock(handle: H, offset: number, length: number): void;
  unlock(handle: H, offset: number, length: number): void;
  advise(handle: H, offset: number, length: number, advice: Advice): void;
  /** Changes the protection of a range (`writable` false means read-only). */
  protect(handle: H, offset: number, length: number, writable: boolean, exec: boolean): void;
  /** One byte per page of the range; bit 0 set where the page is resident. */
  residency(handle: H, offset: number, length: number): Uint8Array;
  /** Releases the mapping and detaches `buffer`. Called at most once per mapping. */
  unmap(handle: H, buffer: ArrayBuffer): void;
  /**
   * Releases a mapping whose buffer was garbage-collected without `unmap`.
   * Backends whose buffers release themselves (a native finalizer, or plain
   * JavaScript memory) leave this out.
   */
  release?(handle: H): void;
}

/** A module under `src/backends/<name>` exports one of these; it loads nothing until called. */
export type BackendLoader = () => Backend;
