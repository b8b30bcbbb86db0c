/**
 * The koffi backend on POSIX systems (Linux, macOS, FreeBSD): the C
 * library's mapping calls, bound once, with the constants of the running
 * OS from its table (`linux.ts`, `darwin.ts`, `freebsd.ts`).
 *
 * @module
 */
import { constants as fsConstants } from "node:fs";
import { systemError } from "../../api/errors.js";
import type { Advice, MapRequest, SharedOpen } from "../contract.js";
import { darwinTable } from "./darwin.js";
import { freebsdTable } from "./freebsd.js";
import { linuxTable } from "./linux.js";
import { bindFileSize } from "./statx.js";
import type { Handle, Koffi, PosixTable, System } from "./types.js";

/** The table of a POSIX platform (`process.platform`, `process.arch`); throws for one without a table. */
export function posixTable(platform: string = process.platform, arch: string = process.arch): PosixTable {
  switch (platform) {
    case "linux":
      return linuxTable(arch);
    case "android":
      return linuxTable(arch, true);
    case "darwin":
      return darwinTable;
    case "freebsd":
      return freebsdTable;
    default:
      throw new Error(`no table of mmap constants for ${platform}`);
  }
}

type Ptr = bigint | null;

const EINTR = 4; // the same number on Linux, macOS and the BSDs
const EINVAL = 22; // the same number on Linux, macOS and the BSDs
// linux/mman.h, the same on every architecture.
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4; // Linux 5.7
type Callback<R> = (error: unknown, result: R) => void;
/** A bound C function, callable synchronously or on koffi's worker threads. */
type Fn<A extends unknown[], R> = ((...args: A) => R) & { async: (...args: [...A, Callback<R>]) => void };

/** The C library's functions the backend uses, bound with koffi. */
export interface PosixCalls {
  /** `mmap` with a 64-bit `off_t` (`mmap64` on 32-bit C libraries that have it). */
  readonly mmap: Fn<[Ptr, number, number, number, number, number], Ptr>;
  readonly munmap: Fn<[Ptr, number], number>;
  readonly msync: Fn<[Ptr, number, number], number>;
  readonly mlock: Fn<[Ptr, number], number>;
  readonly munlock: Fn<[Ptr, number], number>;
  readonly mprotect: Fn<[Ptr, number, number], number>;
  /** Returns the error number itself (0 on success); it does not set errno. */
  readonly posix_madvise: Fn<[Ptr, number, number], number>;
  /** The system's own `madvise` (sets errno), for advice POSIX has no name for; undefined where the C library has none. */
  readonly madvise?: Fn<[Ptr, number, number], number>;
  readonly mincore: Fn<[Ptr, number, Uint8Array], number>;
  readonly sysconf: Fn<[number], number>;
  /** Returns the error number itself (0 on success); undefined where the C library has none (macOS). */
  readonly posix_fallocate?: Fn<[number, number, number], number>;
  /** Linux's `mremap`, a variadic function (a fifth argument, typed, with MREMAP_FIXED); undefined elsewhere. */
  readonly mremap?: (address: Ptr, oldSize: number, newSize: number, flags: number, ...fixed: unknown[]) => Ptr;
  /** The value `mmap` returns on failure: a pointer with every bit set. */
  readonly MAP_FAILED: bigint;
  /** Linux: the size check through `statx` (see `statx.ts`); elsewhere undefined. */
  readonly fileSize?: (fd: number) => number;
  /** `shm_open(name, oflag, mode)`; undefined where neither the C library nor librt has it. */
  readonly shm_open?: (name: string, oflag: number, mode: number) => number;
  readonly shm_unlink?: Fn<[string], number>;
  /** `close(fd)`, for the descriptors `shm_open` returned. */
  readonly close?: (fd: number) => number;
  /** `fcntl(fd, F_SETFD, FD_CLOEXEC)` where `shm_open` does not set it itself (macOS). */
  readonly closeOnExec?: (fd: number) => void;
}

/**
 * Binds `shm_open` and `shm_unlink`: in the C library (glibc 2.34 and later,
 * musl, macOS, FreeBSD), or in `librt.so.1` (glibc before 2.34). macOS
 * declares `shm_open` variadic (`int shm_open(const char *, int, ...)`), and
 * arm64 passes variadic arguments on the stack: it is called so there.
 */
function bindShm(
  koffi: Koffi,
  lib: ReturnType<Koffi["load"]>,
): Pick<PosixCalls, "shm_open" | "shm_unlink" | "close" | "closeOnExec"> {
  const darwin = process.platform === "darwin";
  for (const from of [() => lib, () => koffi.load("librt.so.1")]) {
    try {
      const l = from();
      const shm_unlink: PosixCalls["shm_unlink"] = l.func("int shm_unlink(const char *name)");
      const close: PosixCalls["close"] = lib.func("int close(int fd)");
      if (!darwin) {
        const open = l.func("int shm_open(const char *name, int oflag, uint32_t mode)");
        return { shm_open: (name, oflag, mode) => open(name, oflag, mode), shm_unlink, close };
      }
      const open = l.func("int shm_open(const char *name, int oflag, ...)");
      const fcntl = l.func("int fcntl(int fd, int cmd, ...)");
      const F_SETFD = 2; // sys/fcntl.h
      const FD_CLOEXEC = 1; // sys/fcntl.h
      return {
        shm_open: (name, oflag, mode) => open(name, oflag, "int", mode),
        shm_unlink,
        close,
        closeOnExec: (fd) => void fcntl(fd, F_SETFD, "int", FD_CLOEXEC),
      };
    } catch {
      // not in this library: try the next
    }
  }
  return {};
}

function loadLibrary(koffi: Koffi, names: readonly (string | null)[]): ReturnType<Koffi["load"]> {
  const reasons: string[] = [];
  for (const name of names) {
    try {
      return koffi.load(name);
    } catch (error) {
      reasons.push(`${name ?? "(process)"}: ${(error as Error).message}`);
    }
  }
  throw new Error(`the C library could not be loaded (${reasons.join("; ")})`);
}

/** Loads the C library named by `table` and binds the mapping calls. Throws a plain Error when it cannot. */
export function bindPosix(koffi: Koffi, table: PosixTable): PosixCalls {
  const lib = loadLibrary(koffi, table.libraries);
  const pointerBits = koffi.sizeof("void *") * 8;
  // 32-bit C libraries take a 32-bit off_t in mmap; mmap64 takes 64 bits
  // (glibc, bionic). musl has a 64-bit off_t everywhere, and so do 64-bit systems.
  let mmap: PosixCalls["mmap"] | undefined;
  if (pointerBits === 32) {
    try {
      mmap = lib.func("void *mmap64(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)");
    } catch {
      // no mmap64: off_t is 64 bits (musl)
    }
  }
  mmap ??= lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)");
  // The same for posix_fallocate's off_t arguments.
  let posix_fallocate: PosixCalls["posix_fallocate"];
  for (const name of pointerBits === 32 ? ["posix_fallocate64", "posix_fallocate"] : ["posix_fallocate"]) {
    try {
      posix_fallocate ??= lib.func(`int ${name}(int fd, int64_t offset, int64_t length)`);
    } catch {
      // not in this C library
    }
  }
  let madvise: PosixCalls["madvise"];
  try {
    madvise = lib.func("int madvise(void *addr, size_t length, int advice)");
  } catch {
    // not in this C library: populate falls back to posix_madvise
  }
  let mremap: PosixCalls["mremap"];
  if (process.platform === "linux" || process.platform === "android") {
    try {
      mremap = lib.func("void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...)");
    } catch {
      // not in this C library: resize() copies
    }
  }
  return {
    mmap,
    madvise,
    mremap,
    munmap: lib.func("int munmap(void *addr, size_t length)"),
    msync: lib.func("int msync(void *addr, size_t length, int flags)"),
    mlock: lib.func("int mlock(void *addr, size_t length)"),
    munlock: lib.func("int munlock(void *addr, size_t length)"),
    mprotect: lib.func("int mprotect(void *addr, size_t length, int prot)"),
    posix_madvise: lib.func("int posix_madvise(void *addr, size_t length, int advice)"),
    mincore: lib.func("int mincore(void *addr, size_t length, void *vec)"),
    sysconf: lib.func("long sysconf(int name)"),
    posix_fallocate,
    MAP_FAILED: (1n << BigInt(pointerBits)) - 1n,
    fileSize: process.platform === "linux" ? bindFileSize(koffi, lib) : undefined,
    ...bindShm(koffi, lib),
  };
}

/** The backend's system layer on POSIX. Throws a plain Error when the C library cannot be bound. */
export function posixSystem(koffi: Koffi): System {
  const t = posixTable();
  const c = bindPosix(koffi, t);
  const pageSize = c.sysconf(t._SC_PAGESIZE);
  // A wrong table value would not fail, it would answer some other setting: insist on a plausible page size.
  if (!(pageSize >= 4096 && (pageSize & (pageSize - 1)) === 0)) {
    throw new Error(`sysconf(_SC_PAGESIZE) returned ${pageSize}, not a page size`);
  }
  const { mmap, munmap, msync, MAP_FAILED } = c;
  const READ_WRITE = t.PROT_READ | t.PROT_WRITE;
  const PLACEHOLDER = t.MAP_PRIVATE | t.MAP_ANON | t.MAP_FIXED | t.MAP_NORESERVE;
  const advice: Record<Advice, number> = {
    normal: t.POSIX_MADV_NORMAL,
    random: t.POSIX_MADV_RANDOM,
    sequential: t.POSIX_MADV_SEQUENTIAL,
    willneed: t.POSIX_MADV_WILLNEED,
    dontneed: t.POSIX_MADV_DONTNEED,
  };

  const fail = (syscall: string) => systemError(koffi.errno(), syscall);
  const at = (h: Handle, offset: number): bigint => (offset === 0 ? h.addr : h.addr + BigInt(offset));
  const check = (result: number, syscall: string): void => {
    if (result !== 0) throw fail(syscall);
  };
  /**
   * `MapRequest.populate` for the maps MAP_POPULATE does not serve: private
   * file maps on Linux, every map elsewhere. A hint: nothing it returns is reported.
   */
  const prefault = (addr: bigint, length: number): void => {
    if (t.MADV_POPULATE_READ !== 0 && c.madvise) {
      // Maps the file's pages without breaking copy-on-write; EINVAL: a kernel before 5.14.
      if (c.madvise(addr, length, t.MADV_POPULATE_READ) === 0 || koffi.errno() !== EINVAL) return;
    }
    c.posix_madvise(addr, length, t.POSIX_MADV_WILLNEED);
  };

  const wholePages = (n: number): number => Math.ceil(n / pageSize) * pageSize;
  /** Undoes `move`: the pages go back to the old range (ours, empty), the new range is given back. */
  const moveBack = (old: Handle, addr: bigint, length: number): void => {
    const back = Math.min(wholePages(old.length), wholePages(length));
    const fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
    if (c.mremap?.(addr, back, back, fixed, "void *", old.addr) === MAP_FAILED) return;
    if (wholePages(length) > back) munmap(addr + BigInt(back), wholePages(length) - back);
  };
  /**
   * An anonymous map's pages moved into a new mapping of `length` bytes (see
   * the contract's `move`); undefined, with nothing changed, where the kernel
   * refuses (before 5.7, a range split by advise() or protect(), an emulator).
   */
  const move = (h: Handle, length: number): Handle | undefined => {
    const mremap = c.mremap;
    if (!mremap || h.shared || h.copy || h.prot === undefined) return undefined;
    const moved = Math.min(wholePages(h.length), wholePages(length));
    // DONTUNMAP: the old range stays mapped (empty: it reads zeros), so it is never free
    // while a view may point at it. No MREMAP_FIXED: it unmaps its target even when the move fails.
    // The fifth argument is given as null: where the C library passes it on as it is, a kernel
    // may look at it (EINVAL from Linux 6.18 for the garbage left in its register).
    let addr = mremap(h.addr, moved, moved, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, "void *", null);
    if (addr === MAP_FAILED || addr === null) return undefined;
    if (wholePages(length) > moved) {
      const grown = mremap(addr, moved, wholePages(length), MREMAP_MAYMOVE, "void *", null);
      if (grown === MAP_FAILED || grown === null) {
        moveBack(h, addr, moved);
        return undefined;
      }
      addr = grown;
    }
    // protect() may have changed the pages' protection; the new map has the one it was made with.
    if (c.mprotect(addr, wholePages(length), h.prot) !== 0) {
      moveBack(h, addr, length);
      return undefined;
    }
    return { addr, length, shared: false, copy: false, file: null, live: true, released: false, prot: h.prot };
  };

  const { shm_open, shm_unlink, close, closeOnExec } = c;
  return {
    pageSize,
    allocationGranularity: pageSize,
    reportsResidency: true,
    moveBack,
    // Node's own values of the O_* flags are this system's.
    shmOpen: shm_open
      ? (how: SharedOpen): number => {
          const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL } = fsConstants;
          // Linux (glibc and musl open a file in /dev/shm): O_NONBLOCK, so that a FIFO put at the
          // name does not block a read-only open for good (the API refuses it as not a regular
          // file). macOS and FreeBSD refuse flags other than these, and have no FIFOs there.
          const nonBlock = process.platform === "linux" ? (fsConstants.O_NONBLOCK ?? 0) : 0;
          const oflag =
            (how.writable ? O_RDWR : O_RDONLY) | (how.create ? O_CREAT : 0) | (how.exclusive ? O_EXCL : 0) | nonBlock;
          let fd: number;
          do fd = shm_open(`/${how.name}`, oflag, 0o600);
          while (fd < 0 && koffi.errno() === EINTR);
          if (fd < 0) throw fail("shm_open");
          closeOnExec?.(fd);
          return fd;
        }
      : undefined,
    closeDescriptor: close ? (fd: number): void => void close(fd) : undefined,
    shmUnlink: shm_unlink ? (name: string): void => check(shm_unlink(`/${name}`), "shm_unlink") : undefined,
    fileSize: c.fileSize,
    map(req: MapRequest): Handle {
      const prot = t.PROT_READ | (req.writable ? t.PROT_WRITE : 0) | (req.exec ? t.PROT_EXEC : 0);
      let flags = req.shared ? t.MAP_SHARED : t.MAP_PRIVATE | (req.anon ? 0 : t.MAP_NORESERVE);
      if (req.anon) flags |= t.MAP_ANON;
      // MAP_POPULATE read-faults a shared file map and write-faults (allocates) an anonymous
      // one, but would write-fault, so copy, every page of a private writable file map.
      const byMapFlag = req.populate && t.MAP_POPULATE !== 0 && (req.shared || req.anon);
      if (byMapFlag) flags |= t.MAP_POPULATE;
      const addr = mmap(null, req.length, prot, flags, req.anon ? -1 : req.fd, req.offset);
      if (addr === MAP_FAILED || addr === null) throw fail("mmap");
      if (req.populate && !byMapFlag) prefault(addr, req.length);
      const shared = req.shared && !req.anon;
      const copy = !req.shared && !req.anon;
      return { addr, length: req.length, shared, copy, file: null, live: true, released: false, prot };
    },
    move: c.mremap ? (h, length) => move(h, length) : undefined,
    release(h: Handle): void {
      munmap(h.addr, h.length);
    },
    zero(h: Handle): void {
      // Replaces the pages in one step, so the range is never free for another mapping.
      const addr = mmap(h.addr, h.length, READ_WRITE, PLACEHOLDER, -1, 0);
      if (addr !== h.addr) {
        const error = fail("mmap");
        if (addr !== MAP_FAILED && addr !== null) munmap(addr, h.length);
        throw error;
      }
    },
    reserve(fd, offset, length) {
      if (!c.posix_fallocate) throw systemError("EOPNOTSUPP", "posix_fallocate");
      let error: number;
      do error = c.posix_fallocate(fd, offset, length);
      while (error === EINTR);
      if (error !== 0) throw systemError(error, "posix_fallocate");
    },
    flush(h, offset, length) {
      check(msync(at(h, offset), length, t.MS_SYNC), "msync");
    },
    flushAsync(h, offset, length, done) {
      msync.async(at(h, offset), length, t.MS_SYNC, (error, result) => {
        // koffi restores the worker's errno for the duration of this callback.
        if (error !== null && error !== undefined) done(systemError("EIO", "msync"));
        else done(result === 0 ? undefined : fail("msync"));
      });
    },
    lock(h, offset, length) {
      check(c.mlock(at(h, offset), length), "mlock");
    },
    unlock(h, offset, length) {
      check(c.munlock(at(h, offset), length), "munlock");
    },
    advise(h, offset, length, which) {
      const error = c.posix_madvise(at(h, offset), length, advice[which]);
      if (error !== 0) throw systemError(error, "posix_madvise");
    },
    protect(h, offset, length, writable, exec) {
      const prot = t.PROT_READ | (writable ? t.PROT_WRITE : 0) | (exec ? t.PROT_EXEC : 0);
      check(c.mprotect(at(h, offset), length, prot), "mprotect");
    },
    residency(h, offset, length) {
      const pages = new Uint8Array(Math.ceil(length / pageSize));
      check(c.mincore(at(h, offset), length, pages), "mincore");
      return pages;
    },
  };
}
