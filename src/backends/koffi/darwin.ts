/**
 * macOS: the C library (libSystem) and the constants of the koffi backend,
 * from the SDK's `sys/mman.h` and `unistd.h`.
 *
 * @module
 */
import type { PosixTable } from "./types.js";

/** The macOS table (the same on x64 and arm64). */
export const darwinTable: PosixTable = {
  libraries: ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib", null],
  PROT_READ: 0x01, // sys/mman.h
  PROT_WRITE: 0x02, // sys/mman.h
  PROT_EXEC: 0x04, // sys/mman.h
  MAP_SHARED: 0x0001, // sys/mman.h
  MAP_PRIVATE: 0x0002, // sys/mman.h
  MAP_FIXED: 0x0010, // sys/mman.h
  MAP_ANON: 0x1000, // sys/mman.h
  MAP_NORESERVE: 0x0040, // sys/mman.h (accepted, ignored by XNU)
  MAP_POPULATE: 0, // none: POSIX_MADV_WILLNEED instead
  MADV_POPULATE_READ: 0, // none
  MS_ASYNC: 0x0001, // sys/mman.h
  MS_INVALIDATE: 0x0002, // sys/mman.h
  MS_SYNC: 0x0010, // sys/mman.h
  POSIX_MADV_NORMAL: 0, // sys/mman.h
  POSIX_MADV_RANDOM: 1, // sys/mman.h
  POSIX_MADV_SEQUENTIAL: 2, // sys/mman.h
  POSIX_MADV_WILLNEED: 3, // sys/mman.h
  POSIX_MADV_DONTNEED: 4, // sys/mman.h (lowers the pages' priority, never discards)
  _SC_PAGESIZE: 29, // unistd.h
};
