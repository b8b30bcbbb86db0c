/**
 * Linux (glibc, musl, bionic): the C library and the constants of the koffi
 * backend. Values are the kernel's UAPI headers (`asm-generic/*` unless the
 * architecture overrides them) and the C library's headers.
 *
 * @module
 */
import type { PosixTable } from "./types.js";

// musl's library is named after its architecture: /lib/libc.musl-<arch>.so.1.
const muslArch: Record<string, string> = {
  x64: "x86_64",
  arm64: "aarch64",
  arm: "armhf",
  ia32: "i386",
  riscv64: "riscv64",
  ppc64: "powerpc64le",
  s390x: "s390x",
  loong64: "loongarch64",
};

/** The Linux table for an architecture (`process.arch`); only ppc64 differs. */
export function linuxTable(arch: string, android = false): PosixTable {
  const musl = muslArch[arch];
  return {
    libraries: android ? ["libc.so"] : ["libc.so.6", ...(musl ? [`libc.musl-${musl}.so.1`] : []), null],
    PROT_READ: 0x1, // asm-generic/mman-common.h
    PROT_WRITE: 0x2, // asm-generic/mman-common.h
    PROT_EXEC: 0x4, // asm-generic/mman-common.h
    MAP_SHARED: 0x01, // linux/mman.h
    MAP_PRIVATE: 0x02, // linux/mman.h
    MAP_FIXED: 0x10, // asm-generic/mman-common.h
    MAP_ANON: 0x20, // asm-generic/mman-common.h (MAP_ANONYMOUS)
    MAP_NORESERVE: arch === "ppc64" ? 0x40 : 0x4000, // asm/mman.h (powerpc), asm-generic/mman.h
    MAP_POPULATE: 0x8000, // asm-generic/mman-common.h (powerpc included)
    MADV_POPULATE_READ: 22, // asm-generic/mman-common.h (Linux 5.14)
    MS_ASYNC: 1, // asm-generic/mman-common.h
    MS_INVALIDATE: 2, // asm-generic/mman-common.h
    MS_SYNC: 4, // asm-generic/mman-common.h
    POSIX_MADV_NORMAL: 0, // bits/mman-linux.h (glibc), sys/mman.h (musl, bionic)
    POSIX_MADV_RANDOM: 1, // same
    POSIX_MADV_SEQUENTIAL: 2, // same
    POSIX_MADV_WILLNEED: 3, // same
    POSIX_MADV_DONTNEED: 4, // same; glibc and musl make it a no-op, it never discards
    _SC_PAGESIZE: android ? 0x27 : 30, // bits/confname.h (glibc), unistd.h (musl); bits/sysconf.h (bionic: 0x0027)
  };
}
