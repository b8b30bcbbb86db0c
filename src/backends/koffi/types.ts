/**
 * What the koffi backend's parts share: the koffi module's type, the state of
 * one mapping, and the system layer that `posix.ts` and `windows.ts` bind.
 *
 * @module
 */
import type { Advice, MapRequest, Section, SharedOpen } from "../contract.js";

/** The koffi module, as `require("koffi")` returns it. */
export type Koffi = typeof import("koffi");

/** The backend's state of one mapping. It never references the mapping's buffer. */
export interface Handle {
  /** Address of the first mapped byte. */
  readonly addr: bigint;
  /** Mapped bytes. */
  readonly length: number;
  /** Writes reach a file, so flushing has work to do. */
  readonly shared: boolean;
  /** A private (copy-on-write) file mapping. */
  readonly copy: boolean;
  /**
   * Windows: a duplicate of the file's handle, for FlushFileBuffers (where
   * `shared`), or of a named section's, held until release; else null.
   */
  readonly file: bigint | null;
  /** Counted among the live mappings (not yet unmapped or released). */
  live: boolean;
  /** Unmapped, its range kept until `release`. */
  retired?: boolean;
  /** The address range has been given back to the system. */
  released: boolean;
  /** POSIX: the protection it was mapped with (PROT_*), which `move` restores. */
  readonly prot?: number;
}

/** The system calls of one OS family, bound once by `posix.ts` or `windows.ts`. Failures throw the shared errors. */
export interface System {
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** `residency` reports what is really in RAM. */
  readonly reportsResidency: boolean;
  /** The contract's optional fast size check; without it the API uses `fstatSync`. */
  readonly fileSize?: (fd: number) => number;
  map(request: MapRequest): Handle;
  /** POSIX: `shm_open`; absent where the C library has none. */
  shmOpen?(how: SharedOpen): number;
  /** POSIX: `shm_unlink`. */
  shmUnlink?(name: string): void;
  /** POSIX: `close`, for the descriptors `shmOpen` returned. */
  closeDescriptor?(fd: number): void;
  /** Windows: a named section (the contract's `openSection`). */
  openSection?(how: SharedOpen, size: number): Section;
  /** Windows: a view of a section, as `map` makes one of a file. */
  mapSection?(section: unknown, request: MapRequest): Handle;
  /** Windows: closes a section's handle. Never throws. */
  closeSection?(section: unknown): void;
  /** Gives the address range back (and closes what the mapping holds). Never throws. */
  release(handle: Handle): void;
  /**
   * Linux: moves an anonymous mapping's pages into a new mapping of `length`
   * bytes, the old range left mapped and empty (the contract's `move`);
   * undefined, with nothing changed, where the kernel refuses. Absent elsewhere.
   */
  move?(handle: Handle, length: number): Handle | undefined;
  /** Undoes `move` (what followed it failed): the pages go back, the new range is given back. */
  moveBack?(old: Handle, addr: bigint, length: number): void;
  /**
   * Replaces the mapping with anonymous zero pages at the same address, in
   * one atomic step, so the range stays reserved for old views. Absent where
   * the OS cannot (Windows without placeholders): then the view stays mapped
   * until it is released.
   */
  zero?(handle: Handle): void;
  /** Reserves the file's blocks (posix_fallocate); throws EOPNOTSUPP where the OS has no such call. */
  reserve(fd: number, offset: number, length: number): void;
  flush(handle: Handle, offset: number, length: number): void;
  /** Flushes on a worker thread; `done` runs on the JavaScript thread. */
  flushAsync(handle: Handle, offset: number, length: number, done: (error: Error | undefined) => void): void;
  lock(handle: Handle, offset: number, length: number): void;
  unlock(handle: Handle, offset: number, length: number): void;
  advise(handle: Handle, offset: number, length: number, advice: Advice): void;
  protect(handle: Handle, offset: number, length: number, writable: boolean, exec: boolean): void;
  residency(handle: Handle, offset: number, length: number): Uint8Array;
}

/** Detaches an ArrayBuffer (every view then reads length 0), or throws. */
export type Detach = (buffer: ArrayBuffer) => void;

/** The constants the backend needs on one POSIX system; each table names the header of each value. */
export interface PosixTable {
  /** Names of the C library, tried in order; `null` means the symbols already loaded in the process. */
  readonly libraries: readonly (string | null)[];
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly PROT_EXEC: number;
  readonly MAP_SHARED: number;
  readonly MAP_PRIVATE: number;
  readonly MAP_FIXED: number;
  readonly MAP_ANON: number;
  /** 0 where the OS has no such flag. */
  readonly MAP_NORESERVE: number;
  /**
   * Linux: prefault at mmap time; used only for shared file maps and anonymous
   * ones (on a private writable file map it would copy every page). 0 where
   * the OS has no such flag.
   */
  readonly MAP_POPULATE: number;
  /** Linux 5.14+: `madvise` advice that maps a range's pages without breaking copy-on-write. 0 where the OS has none. */
  readonly MADV_POPULATE_READ: number;
  readonly MS_ASYNC: number;
  readonly MS_INVALIDATE: number;
  readonly MS_SYNC: number;
  readonly POSIX_MADV_NORMAL: number;
  readonly POSIX_MADV_RANDOM: number;
  readonly POSIX_MADV_SEQUENTIAL: number;
  readonly POSIX_MADV_WILLNEED: number;
  readonly POSIX_MADV_DONTNEED: number;
  readonly _SC_PAGESIZE: number;
}
