/**
 * The koffi backend's table of constants for the running OS agrees with what
 * the OS does: each value is checked by its effect, not only by being accepted.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe } from "vitest";
import { bindPosix, type PosixCalls, posixTable } from "../../src/backends/koffi/posix.js";
import type { Koffi, PosixTable } from "../../src/backends/koffi/types.js";
import { bindWindows } from "../../src/backends/koffi/windows.js";
import { testUnless } from "../unless.js";

const windows = process.platform === "win32";
const linux = process.platform === "linux";

let koffi: Koffi | undefined;
let unavailable: string | undefined;
try {
  koffi = createRequire(import.meta.url)("koffi") as Koffi;
} catch (error) {
  unavailable = `koffi is not loadable here: ${(error as Error).message}`;
}

const posixReason = unavailable ?? (windows ? "POSIX constants; this is Windows" : undefined);
/** Set under qemu-user (the matrix's arm64 cell), which emulates some of these calls loosely. */
const emulated = process.env.PORTABLE_MMAP_TEST_LAUNCHER !== undefined;
if (emulated && linux) {
  console.log(
    "# koffi constants under qemu-user: PROT_EXEC's x in /proc/self/maps and posix_madvise's EINVAL and VM flags are not checked (qemu emulates them loosely)",
  );
}
let table: PosixTable | undefined;
let calls: PosixCalls | undefined;
function posix(): { t: PosixTable; c: PosixCalls; k: Koffi; page: number } {
  table ??= posixTable();
  calls ??= bindPosix(koffi as Koffi, table);
  return { t: table, c: calls, k: koffi as Koffi, page: calls.sysconf(table._SC_PAGESIZE) };
}

/** Maps anonymous memory with the table's flags; asserts success. */
function anon(length: number, prot?: number, extra = 0): bigint {
  const { t, c } = posix();
  const addr = c.mmap(null, length, prot ?? t.PROT_READ | t.PROT_WRITE, t.MAP_PRIVATE | t.MAP_ANON | extra, -1, 0);
  assert.ok(addr !== null && addr !== c.MAP_FAILED, "mmap of anonymous memory failed");
  return addr;
}

/**
 * The /proc/self/smaps block of the mapping that contains `addr` (Linux). The
 * kernel merges a new mapping into a neighbour with the same flags, so the
 * block may start before `addr`.
 */
function smaps(addr: bigint): string {
  const blocks = fs.readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-)/);
  const block = blocks.find((b) => {
    const [start, end] = (b.split(" ")[0] ?? "").split("-").map((hex) => BigInt(`0x${hex}`));
    return start !== undefined && end !== undefined && start <= addr && addr < end;
  });
  assert.ok(block, `mapping at 0x${addr.toString(16)} not in /proc/self/smaps`);
  return block;
}
const vmFlags = (addr: bigint): string[] => /VmFlags:(.*)/.exec(smaps(addr))?.[1]?.trim().split(/\s+/) ?? [];
const perms = (addr: bigint): string => smaps(addr).split("\n")[0]?.split(" ")[1] ?? "";

describe("koffi constants (POSIX)", () => {
  testUnless(posixReason, "sysconf(_SC_PAGESIZE) is the page size an anonymous mapping really has", () => {
    const { t, c, k, page } = posix();
    assert.ok(page >= 4096 && (page & (page - 1)) === 0, `page size ${page}`);
    const addr = anon(3 * page);
    try {
      assert.equal(addr % BigInt(page), 0n, "mappings start on a page boundary");
      // Protection changes at addr + page: so the real page size divides `page`...
      assert.equal(c.mprotect(addr + BigInt(page), page, t.PROT_READ), 0);
      // ...and not at addr + page / 2: so it is larger than page / 2.
      assert.equal(c.mprotect(addr + BigInt(page / 2), page, t.PROT_READ), -1);
      assert.equal(k.errno(), os.constants.errno.EINVAL);
      const vec = new Uint8Array(3);
      assert.equal(c.mincore(addr, 3 * page, vec), 0);
      if (linux) assert.match(smaps(addr), new RegExp(`KernelPageSize:\\s+${page / 1024} kB`));
    } finally {
      c.munmap(addr, 3 * page);
    }
  });

  testUnless(posixReason, "a failing mmap returns MAP_FAILED (all ones) and errno is read right after", () => {
    const { t, c, k, page } = posix();
    assert.equal(c.mmap(null, page, t.PROT_READ, t.MAP_PRIVATE, -1, 0), c.MAP_FAILED);
    assert.equal(k.errno(), os.constants.errno.EBADF);
  });

  testUnless(posixReason, "MAP_ANON maps zeroed memory and needs no descriptor", () => {
    const { c, page } = posix();
    const addr = anon(page);
    try {
      const bytes = new Uint8Array(posix().k.view(addr, page));
      assert.ok(bytes.every((b) => b === 0));
      bytes[0] = 7;
      assert.equal(bytes[0], 7);
    } finally {
      c.munmap(addr, page);
    }
  });

  testUnless(posixReason, "MAP_SHARED writes reach the file, MAP_PRIVATE writes do not", () => {
    const { t, c, k, page } = posix();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "koffi-constants-")), "f.bin");
    fs.writeFileSync(file, Buffer.alloc(page, 1));
    const fd = fs.openSync(file, "r+");
    try {
      for (const [flags, expected] of [
        [t.MAP_SHARED, 2],
        [t.MAP_PRIVATE, 2], // the shared write above is still there; the private one is not
      ] as const) {
        const addr = c.mmap(null, page, t.PROT_READ | t.PROT_WRITE, flags, fd, 0);
        assert.ok(addr !== null && addr !== c.MAP_FAILED);
        new Uint8Array(k.view(addr, page))[0] = flags === t.MAP_SHARED ? 2 : 3;
        assert.equal(c.msync(addr, page, t.MS_SYNC), 0);
        c.munmap(addr, page);
        assert.equal(fs.readFileSync(file)[0], expected);
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  testUnless(posixReason, "MAP_FIXED places a mapping at the address given, replacing what was there", () => {
    const { t, c, k, page } = posix();
    const addr = anon(2 * page);
    try {
      const bytes = new Uint8Array(k.view(addr, 2 * page));
      bytes[0] = 1;
      bytes[page] = 1;
      const flags = t.MAP_PRIVATE | t.MAP_ANON | t.MAP_FIXED;
      assert.equal(c.mmap(addr + BigInt(page), page, t.PROT_READ | t.PROT_WRITE, flags, -1, 0), addr + BigInt(page));
      assert.equal(bytes[0], 1);
      assert.equal(bytes[page], 0);
    } finally {
      c.munmap(addr, 2 * page);
    }
  });

  testUnless(posixReason, "MAP_NORESERVE is the flag that skips the swap reservation", () => {
    const { t, c, page } = posix();
    if (t.MAP_NORESERVE === 0) return; // the OS has none (FreeBSD)
    const addr = anon(page, undefined, t.MAP_NORESERVE);
    try {
      if (linux) assert.ok(vmFlags(addr).includes("nr"), `VmFlags ${vmFlags(addr).join(" ")}`);
    } finally {
      c.munmap(addr, page);
    }
    if (linux) {
      const plain = anon(page);
      assert.ok(!vmFlags(plain).includes("nr"));
      c.munmap(plain, page);
    }
  });

  testUnless(posixReason, "PROT_READ, PROT_WRITE and PROT_EXEC give the protection they name", () => {
    const { t, c, page } = posix();
    const addr = anon(page);
    try {
      for (const [prot, shown] of [
        [t.PROT_READ, "r--p"],
        [t.PROT_READ | t.PROT_WRITE, "rw-p"],
        [t.PROT_READ | t.PROT_EXEC, "r-xp"],
      ] as const) {
        assert.equal(c.mprotect(addr, page, prot), 0);
        // qemu-user translates the guest's code and maps no page executable: /proc shows no x there.
        if (linux && !(emulated && prot & t.PROT_EXEC)) assert.equal(perms(addr), shown);
      }
    } finally {
      c.munmap(addr, page);
    }
  });

  testUnless(posixReason, "MS_SYNC, MS_ASYNC and MS_INVALIDATE are the flags msync knows", () => {
    const { t, c, k, page } = posix();
    const addr = anon(page);
    try {
      for (const flags of [t.MS_SYNC, t.MS_ASYNC, t.MS_INVALIDATE, t.MS_SYNC | t.MS_INVALIDATE]) {
        assert.equal(c.msync(addr, page, flags), 0, `msync flags ${flags}`);
      }
      if (linux) {
        // Linux refuses every other bit, and MS_SYNC together with MS_ASYNC.
        const known = [t.MS_ASYNC, t.MS_INVALIDATE, t.MS_SYNC];
        for (let bit = 1; bit <= 0x80; bit <<= 1) {
          assert.equal(c.msync(addr, page, bit), known.includes(bit) ? 0 : -1, `msync flag ${bit}`);
        }
        assert.equal(c.msync(addr, page, t.MS_SYNC | t.MS_ASYNC), -1);
        assert.equal(k.errno(), os.constants.errno.EINVAL);
      }
    } finally {
      c.munmap(addr, page);
    }
  });

  testUnless(
    posixReason,
    "shm_open and shm_unlink are bound (libc, or librt.so.1 before glibc 2.34) and take node:fs's O_* flags",
    () => {
      const { c, k } = posix();
      assert.ok(c.shm_open && c.shm_unlink && c.close, "bound");
      const { O_RDWR, O_CREAT, O_EXCL } = fs.constants;
      const name = `/pmm-unit-${process.pid}`;
      const fd = c.shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600);
      assert.ok(fd >= 0, `shm_open: errno ${k.errno()}`);
      try {
        assert.equal(c.shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600), -1, "O_EXCL on an existing name");
        assert.equal(k.errno(), os.constants.errno.EEXIST);
      } finally {
        c.close(fd);
        assert.equal(c.shm_unlink(name), 0);
      }
      assert.equal(c.shm_unlink(name), -1);
      assert.equal(k.errno(), os.constants.errno.ENOENT);
      assert.equal(c.shm_open(name, O_RDWR, 0), -1, "gone once unlinked");
    },
  );

  testUnless(posixReason, "POSIX_MADV_* are the advice values posix_madvise knows", () => {
    const { t, c, page } = posix();
    const addr = anon(page);
    try {
      const bytes = new Uint8Array(posix().k.view(addr, page));
      bytes[0] = 5;
      for (const advice of [
        t.POSIX_MADV_NORMAL,
        t.POSIX_MADV_RANDOM,
        t.POSIX_MADV_SEQUENTIAL,
        t.POSIX_MADV_WILLNEED,
        t.POSIX_MADV_DONTNEED,
      ]) {
        // posix_madvise returns the error number itself.
        assert.equal(c.posix_madvise(addr, page, advice), 0, `advice ${advice}`);
      }
      assert.equal(bytes[0], 5, "POSIX_MADV_DONTNEED never discards");
      // qemu-user's madvise accepts any advice (it passes on only what is safe, and drops the rest).
      if (!emulated) assert.equal(c.posix_madvise(addr, page, 1000), os.constants.errno.EINVAL);
      if (linux && !emulated) {
        assert.equal(c.posix_madvise(addr, page, t.POSIX_MADV_RANDOM), 0);
        assert.ok(vmFlags(addr).includes("rr"), "POSIX_MADV_RANDOM sets VM_RAND_READ");
        assert.equal(c.posix_madvise(addr, page, t.POSIX_MADV_SEQUENTIAL), 0);
        assert.ok(vmFlags(addr).includes("sr"), "POSIX_MADV_SEQUENTIAL sets VM_SEQ_READ");
        assert.equal(c.posix_madvise(addr, page, t.POSIX_MADV_NORMAL), 0);
        assert.ok(!vmFlags(addr).some((f) => f === "rr" || f === "sr"), "POSIX_MADV_NORMAL clears both");
      }
    } finally {
      c.munmap(addr, page);
    }
  });
});

describe("koffi constants (populate)", () => {
  const reason =
    posixReason ??
    (emulated && linux
      ? "under qemu-user, which drops madvise hints (MADV_POPULATE_READ included) and may not pass MAP_POPULATE on"
      : undefined);

  testUnless(reason, "MAP_POPULATE and MADV_POPULATE_READ map the pages they name (Linux; 0 elsewhere)", () => {
    const { t, c, k, page } = posix();
    if (!linux) {
      assert.equal(t.MAP_POPULATE, 0, "only Linux has MAP_POPULATE");
      assert.equal(t.MADV_POPULATE_READ, 0, "only Linux has MADV_POPULATE_READ");
      return;
    }
    assert.ok(c.madvise, "the C library has madvise");
    const resident = (addr: bigint, pages: number): number => {
      const vec = new Uint8Array(pages);
      assert.equal(c.mincore(addr, pages * page, vec), 0);
      return vec.reduce((sum, b) => sum + (b & 1), 0);
    };
    // Untouched anonymous pages are not resident; MAP_POPULATE allocates them at mmap time.
    const plain = anon(8 * page);
    const populated = anon(8 * page, undefined, t.MAP_POPULATE);
    try {
      assert.equal(resident(plain, 8), 0);
      assert.equal(resident(populated, 8), 8);
      // MADV_POPULATE_READ (Linux 5.14+) maps them for reading (the zero page): EINVAL on an older kernel.
      const done = c.madvise?.(plain, 8 * page, t.MADV_POPULATE_READ);
      if (done === 0) assert.equal(resident(plain, 8), 8);
      else assert.equal(k.errno(), os.constants.errno.EINVAL, "older kernels refuse the advice");
    } finally {
      c.munmap(plain, 8 * page);
      c.munmap(populated, 8 * page);
    }
    // On a private writable file map it maps the file's pages without copying any.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "koffi-constants-")), "f.bin");
    fs.writeFileSync(file, Buffer.alloc(16 * page, 3));
    const fd = fs.openSync(file, "r");
    try {
      const flags = t.MAP_PRIVATE | t.MAP_NORESERVE;
      const addr = c.mmap(null, 16 * page, t.PROT_READ | t.PROT_WRITE, flags, fd, 0);
      assert.ok(addr !== null && addr !== c.MAP_FAILED);
      try {
        if (c.madvise?.(addr, 16 * page, t.MADV_POPULATE_READ) === 0) {
          const block = smaps(addr);
          assert.match(block, new RegExp(`^Rss:\\s+${(16 * page) / 1024} kB`, "m"), "every page mapped");
          assert.match(block, /^Anonymous:\s+0 kB/m, "none copied");
        }
        assert.equal(new Uint8Array(k.view(addr, 16 * page))[16 * page - 1], 3);
      } finally {
        c.munmap(addr, 16 * page);
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe("koffi constants (Windows)", () => {
  const reason = unavailable ?? (windows ? undefined : "Windows values; this is not Windows");
  testUnless(reason, "GetSystemInfo gives the page size and the 64 KiB allocation granularity", () => {
    const w = bindWindows(koffi as Koffi);
    assert.ok(w.pageSize >= 4096 && (w.pageSize & (w.pageSize - 1)) === 0);
    assert.equal(w.allocationGranularity, 65536);
  });

  testUnless(reason, "uv_get_osfhandle turns a Node descriptor into a HANDLE", () => {
    const w = bindWindows(koffi as Koffi);
    const fd = fs.openSync(process.execPath, "r");
    try {
      const handle = w.uv_get_osfhandle(fd);
      assert.ok(handle !== null && handle !== (1n << BigInt(w.pointerBits)) - 1n);
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(w.uv_get_osfhandle(12345), (1n << BigInt(w.pointerBits)) - 1n);
  });

  testUnless(reason, "PrefetchVirtualMemory is looked up once, on first use, and takes a range of a view", () => {
    const w = bindWindows(koffi as Koffi);
    const prefetch = w.PrefetchVirtualMemory;
    assert.equal(w.PrefetchVirtualMemory, prefetch, "the same binding every time");
    if (!prefetch) return; // before Windows 8: POPULATE and "willneed" do nothing there
    const INVALID_HANDLE_VALUE = (1n << BigInt(w.pointerBits)) - 1n;
    const size = 4 * w.allocationGranularity;
    const section = w.CreateFileMappingW(INVALID_HANDLE_VALUE, null, 0x04, 0, size, null); // PAGE_READWRITE
    assert.ok(section !== null);
    const addr = w.MapViewOfFile(section, 0x02, 0, 0, size); // FILE_MAP_WRITE
    w.CloseHandle(section);
    assert.ok(addr !== null);
    try {
      const entry =
        w.pointerBits === 64 ? new BigUint64Array([addr, BigInt(size)]) : new Uint32Array([Number(addr), size]);
      // A hint: the result is not asserted (Wine may answer it either way), only that the call is well formed.
      prefetch(w.GetCurrentProcess(), 1, entry, 0);
      assert.ok(new Uint8Array((koffi as Koffi).view(addr, size)).every((b) => b === 0));
    } finally {
      w.UnmapViewOfFile(addr);
    }
  });
});
