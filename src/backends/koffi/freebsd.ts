/**
 * FreeBSD: the C library and the constants of the koffi backend, from
 * `sys/mman.h` and `unistd.h`.
 *
 * @module
 */
import type { PosixTable } from "./types.js";

/** The FreeBSD table (the same on every architecture). */
export const freebsdTable: PosixTable = {
  libraries: ["libc.so.7", null],
  PROT_READ: 0x01, // sys/mman.h
  PROT_WRITE: 0x02, // sys/mman.h
  PROT_EXEC: 0x04, // sys/mman.h
  MAP_SHARED: 0x0001, // sys/mman.h
  MAP_PRIVATE: 0x0002, // sys/mman.h
  MAP_FIXED: 0x0010, // sys/mman.h
  MAP_ANON: 0x1000, // sys/mman.h
  MAP_NORESERVE: 0, // sys/mman.h: removed (0x0040 is MAP_RESERVED0040, refused)
  MAP_POPULATE: 0, // none (MAP_PREFAULT_READ maps only pages already in memory): POSIX_MADV_WILLNEED instead
  MADV_POPULATE_READ: 0, // none
  MS_ASYNC: 0x0001, // sys/mman.h
  MS_INVALIDATE: 0x0002, // sys/mman.h
  MS_SYNC: 0x0000, // sys/mman.h
  POSIX_MADV_NORMAL: 0, // sys/mman.h
  POSIX_MADV_RANDOM: 1, // sys/mman.h
  POSIX_MADV_SEQUENTIAL: 2, // sys/mman.h
  POSIX_MADV_WILLNEED: 3, // sys/mman.h
  POSIX_MADV_DONTNEED: 4, // sys/mman.h (deactivates the pages, never discards)
  _SC_PAGESIZE: 47, // unistd.h
};
