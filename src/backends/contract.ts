/*
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
 * - no call but `unmap` is made after the mapping's buffer was moved
 *   (transfer, a BYOB read) or after `unmap`; no `unmap` while a
 *   `flushAsync` is pending (the API waits for it);
 * - a handle is never used after `unmap` returned, but for `release`.
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
  /**
   * Prefault the pages before `map` returns (the public `POPULATE` flag). A
   * hint: the backend makes the map whether or not prefaulting works, never
   * throws for it, and never copies a private file map's pages to do it.
   * - Linux: shared file maps and anonymous maps with `MAP_POPULATE`; private
   *   file maps with `madvise(MADV_POPULATE_READ)`, or `MADV_WILLNEED` where
   *   the kernel is older than 5.14 (EINVAL) (`MAP_POPULATE` on a private
   *   writable mapping write-faults, so copies, every page).
   * - Other POSIX systems: `madvise(MADV_WILLNEED)`.
   * - Windows: `PrefetchVirtualMemory` where kernel32 has it (Windows 8+).
   * - The fallback reads the region at map time anyway: nothing to do.
   */
  readonly populate: boolean;
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
  /**
   * `unmap` lets go of the file at once: it can be truncated or deleted
   * (Windows refuses both while a view is mapped), and a view of the memory
   * that something still holds (a buffer its memory was moved to, work on
   * the thread pool) reads zeros and its writes go nowhere. False on Windows
   * without placeholders (before Windows 10 1803, Wine 8): there the view
   * stays mapped until its buffer is collected, because a view cannot be
   * replaced in place without them.
   */
  readonly releasesFileOnUnmap: boolean;
  /**
   * A page the file can no longer back (another process truncated it; a full
   * disk or an I/O error under a page of a sparse file) reads as zeros, writes
   * to it go nowhere, and the map's next call throws `ERR_MMAP_FAULT`. Where
   * false, touching such a page ends the process with SIGBUS, as in C (koffi:
   * no JavaScript or FFI code can run in a signal handler; native outside
   * Linux, for now). The fallback reads the file at map time, so it never
   * touches the file's pages and never faults.
   */
  readonly survivesFileFaults: boolean;
  /** `flushAsync` does its work off the JavaScript thread. */
  readonly flushesOffThread: boolean;
  /**
   * The backend uses the caller's descriptor after `map` returns, so it must
   * stay open until `unmap` (the API keeps descriptors it opened itself).
   */
  readonly needsDescriptor: boolean;
  /**
   * `openSharedMemory` works: memory another process opens by the same name
   * (POSIX `shm_open`, Windows named sections). False on the fallback, which
   * cannot share memory and refuses with `ERR_MMAP_UNSUPPORTED`.
   */
  readonly sharesMemoryByName: boolean;
}

/** How to open a named segment; the API has checked and normalized the name. */
export interface SharedOpen {
  /** The name without any leading `/`: not empty, no `/`, `\` or NUL. */
  readonly name: string;
  /** Create it if missing. */
  readonly create: boolean;
  /** With `create`: fail with EEXIST if it exists. */
  readonly exclusive: boolean;
  /** Open for reading and writing (else read-only). */
  readonly writable: boolean;
}

/** A Windows named section, open until `closeSection`. */
export interface Section {
  /** The backend's handle of the section. */
  readonly handle: unknown;
  /** Its size in bytes (fixed for the section's life; page-rounded when it was opened rather than created). */
  readonly size: number;
  /** This call created it. */
  readonly created: boolean;
}

/** One backend: a thin layer over the operating system's mapping calls. */
export interface Backend<H = unknown> {
  readonly name: BackendName;
  /** The virtual memory page size. */
  readonly pageSize: number;
  /** What mapping offsets must be a multiple of (64 KiB on Windows, else the page size). */
  readonly allocationGranularity: number;
  readonly capabilities: Capabilities;
  /** The `advise` values that reach a system call acting on them; the rest do nothing here. */
  readonly advice: readonly Advice[];
  /**
   * Counters the API reads without a call, where the backend keeps them:
   * `[0]` grows with every memory fault the backend handled (a truncated
   * file, a failed write-back), `[1]` is the number of the process's live
   * mappings (not yet unmapped or released), `[2]` the number of unmapped
   * ones whose address range is still reserved.
   */
  readonly counters?: Int32Array;
  /**
   * Optional fast path for the API's size check: the size of the file behind
   * `fd` if it is a regular file, else -1. Without it the API uses `fstatSync`.
   */
  fileSize?(fd: number): number;
  /**
   * Allocates the file's blocks for `[offset, offset + length)` and extends
   * the file to its end, so that writes through a map cannot meet a full disk
   * later. Throws the shared error (`ENOSPC`); `EOPNOTSUPP` where the file
   * system cannot (the API then only extends the file).
   */
  reserve(fd: number, offset: number, length: number): void;
  /** Maps a region. Throws the shared system error (for example EACCES from mmap). */
  map(request: MapRequest): Mapping<H>;
  /**
   * Optional, for `resize()` of an anonymous map: moves its pages into a new
   * mapping of `length` bytes (zero-filled past the old length) without
   * copying them (Linux `mremap`). The old mapping stays as it is, reading
   * zeros, until the API unmaps it as usual. Returns undefined, with nothing
   * changed, where the system cannot; the API then maps and copies.
   */
  move?(handle: H, length: number): Mapping<H> | undefined;
  /** Writes dirty pages of the range to the file and waits for the device (msync MS_SYNC). */
  flush(handle: H, offset: number, length: number): void;
  /** The same as `flush`, off the JavaScript thread where the backend can. */
  flushAsync(handle: H, offset: number, length: number): Promise<void>;
  lock(handle: H, offset: number, length: number): void;
  unlock(handle: H, offset: number, length: number): void;
  advise(handle: H, offset: number, length: number, advice: Advice): void;
  /** Changes the protection of a range (`writable` false means read-only). */
  protect(handle: H, offset: number, length: number, writable: boolean, exec: boolean): void;
  /** One byte per page of the range; bit 0 set where the page is resident. */
  residency(handle: H, offset: number, length: number): Uint8Array;
  /**
   * The file offset of the first page of the mapping that faulted (the file
   * shrank under it, or a write-back failed), or -1. Only asked after
   * `counters[0]` changed.
   */
  faultAt?(handle: H): number;
  /**
   * `unmap()` while a `flushAsync` is still running: write back what must be
   * written, then detach `buffer`. `unmap` follows once no flush is pending.
   * Throws (leaving the map as it was) only before anything changed.
   */
  detach(handle: H, buffer: ArrayBuffer): void;
  /**
   * Unmaps: writes back what must be written, detaches `buffer` unless it is
   * already detached (by `detach`, or because `moved`: its memory was moved
   * to another ArrayBuffer by `transfer()`, a BYOB read or `postMessage`),
   * and makes the memory harmless in place: no view that may still point at
   * it (a moved buffer, a raw pointer held by work on the thread pool) can
   * ever touch the file or someone else's memory. Called once, when no
   * `flushAsync` of the mapping is pending. Throws (leaving the map as it
   * was) only before anything changed.
   *
   * Returns true when the backend keeps the address range and wants
   * `release(handle)` once `buffer` has been garbage-collected.
   */
  unmap(handle: H, buffer: ArrayBuffer, moved: boolean): boolean;
  /**
   * Gives back what a mapping holds once nothing can point at its memory:
   * after `buffer` was collected following `unmap` (when it returned true),
   * or for a map dropped without `unmap` whose buffer was not moved while
   * the `MMap` lived.
   * Backends whose buffers release themselves (a native finalizer, plain
   * JavaScript memory) leave this out.
   */
  release?(handle: H): void;
  /**
   * A map was collected without `unmap` after its memory had moved to another
   * buffer, which may use it for as long as it lives, and nothing reports
   * when that ends: give back what can be given back without touching the
   * memory (the range stays mapped for good). Where absent, `release` is called.
   */
  abandon?(handle: H): void;
  /**
   * POSIX: `shm_open("/" + name)` with mode 0600; returns the descriptor,
   * which the API owns from then on. Throws the shared error (EEXIST, ENOENT,
   * EACCES, ENAMETOOLONG). Absent on Windows and where `sharesMemoryByName` is false.
   */
  shmOpen?(how: SharedOpen): number;
  /** POSIX: `shm_unlink("/" + name)`. */
  shmUnlink?(name: string): void;
  /**
   * POSIX: closes a descriptor `shmOpen` returned (the runtime's `node:fs`
   * may not know it: Deno refuses to close it). Never throws.
   */
  closeDescriptor?(fd: number): void;
  /**
   * Windows: creates (`size` bytes, paging-file backed) or opens the section
   * `Local\<name>`. Throws the shared error (EEXIST with `exclusive` where
   * it exists, ENOENT, EACCES).
   */
  openSection?(how: SharedOpen, size: number): Section;
  /**
   * Windows: maps `[0, request.length)` of an open section (`request.fd` is
   * -1, `request.offset` 0, `request.anon` false); the mapping then lives as
   * a file map does (`unmap`, `release`, `abandon` alike), and keeps the
   * section alive after `closeSection`.
   */
  mapSection?(section: unknown, request: MapRequest): Mapping<H>;
  /** Windows: closes the section's handle (views keep the memory). Never throws. */
  closeSection?(section: unknown): void;
}

/** A module under `src/backends/<name>` exports one of these; it loads nothing until called. */
export type BackendLoader = () => Backend;
