/**
 * `MMap.resize()`: a new map of another length over the same file offset,
 * the old one unmapped; the file grows (RDWR) or is truncated only when
 * asked; private maps carry their bytes over; bad input changes nothing.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { ANON, COPY, EXEC, type MMap, mapFile, mapRegion, pageSize, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, pattern, tempFile, throwsCode, withFd } from "./helpers.js";

const linux = process.platform === "linux";

/** Why this run cannot expect an ANON resize to move pages (native and koffi on Linux 5.7+, not under an emulator). */
function movesReason(): string | undefined {
  if (backendName === "fallback")
    return "the fallback copies the bytes of an ANON map on resize (its memory is a plain buffer)";
  if (!linux) return "only Linux can move pages (mremap): other systems copy";
  if (process.env.PORTABLE_MMAP_TEST_LAUNCHER !== undefined)
    return "under an emulator (qemu-user), whose mremap may refuse MREMAP_DONTUNMAP (resize then copies)";
  const [major = 0, minor = 0] = os.release().split(".").map(Number);
  if (major < 5 || (major === 5 && minor < 7)) return `Linux ${os.release()} has no MREMAP_DONTUNMAP (5.7+)`;
  if (typeof process.resourceUsage !== "function")
    return "this runtime has no process.resourceUsage() to count page faults";
  return undefined;
}

/** Asserts `m` is unmapped the way every map is after resize(): length 0, methods throw. */
function assertGone(m: MMap): void {
  assert.equal(m.unmapped, true);
  if (caps.detachesOnUnmap) assert.equal(m.length, 0);
  throwsCode(() => m.flush(), Error, "ERR_MMAP_UNMAPPED");
}

describe("resize()", () => {
  test("an RDWR map grows: the file is extended, the bytes kept, the old map unmapped", () => {
    const file = tempFile(pattern(5000));
    const m = mapFile(file, { prot: RDWR, keepOpen: true });
    m[0] = 0xee; // not flushed: must not be lost on any backend
    const bigger = m.resize(3 * 65536 + 7);
    assertGone(m);
    assert.equal(bigger.length, 3 * 65536 + 7);
    assert.equal(bigger.prot, RDWR);
    assert.equal(fs.statSync(file).size, 3 * 65536 + 7);
    assert.equal(bigger.fileSize(), 3 * 65536 + 7);
    assert.equal(bigger[0], 0xee);
    assert.deepEqual(Buffer.from(bigger.subarray(1, 5000)), pattern(5000).subarray(1));
    assert.ok(
      bigger.subarray(5000).every((b) => b === 0),
      "the new part reads zeros",
    );
    bigger[bigger.length - 1] = 0x42;
    bigger.unmap();
    const bytes = fs.readFileSync(file);
    assert.equal(bytes[0], 0xee);
    assert.equal(bytes[bytes.length - 1], 0x42);
  });

  test("a map at an unaligned offset keeps its offset", () => {
    const file = tempFile(pattern(200_000));
    const m = mapFile(file, { prot: RDWR, offset: 70_001, length: 1000, keepOpen: true });
    const n = m.resize(150_000);
    assert.equal(n.fileOffset, 70_001);
    assert.deepEqual(Buffer.from(n.subarray(0, 129_999)), pattern(200_000).subarray(70_001));
    assert.equal(fs.statSync(file).size, 220_001);
    const k = n.resize(10);
    assert.equal(k.fileOffset, 70_001);
    assert.deepEqual(Buffer.from(k), pattern(200_000).subarray(70_001, 70_011));
    assert.equal(fs.statSync(file).size, 220_001, "without truncate the file keeps its size");
    k.unmap();
  });

  test("shrinking with truncate: true cuts the file at the map's new end", (context) => {
    const file = tempFile(pattern(100_000));
    const m = mapFile(file, { prot: RDWR, offset: 1000, keepOpen: true });
    if (!caps.releasesFileOnUnmap) {
      // Windows without placeholders keeps the old view until it is collected: refused up front.
      throwsCode(() => m.resize(500, { truncate: true }), Error, "ERR_MMAP_UNSUPPORTED");
      assert.equal(m.unmapped, false);
      assert.equal(m.length, 99_000);
      m.unmap();
      context.skip("the old view cannot be released at once here (releasesFileOnUnmap is false): refusal asserted");
      return;
    }
    m[0] = 7;
    const n = m.resize(500, { truncate: true });
    assertGone(m);
    assert.equal(fs.statSync(file).size, 1500);
    assert.equal(n.fileSize(), 1500);
    assert.equal(n[0], 7);
    n.unmap();
    assert.deepEqual(fs.readFileSync(file).subarray(1001), pattern(100_000).subarray(1001, 1500));
  });

  test("an ANON map keeps its bytes up to the smaller length; new bytes are zero", () => {
    const size = 3 * pageSize() + 11;
    const m = mapRegion(null, size, RDWR, ANON);
    m.set(pattern(size, 3));
    const bigger = m.resize(size * 4);
    assertGone(m);
    assert.equal(bigger.flags, ANON);
    assert.deepEqual(Buffer.from(bigger.subarray(0, size)), pattern(size, 3));
    assert.ok(bigger.subarray(size).every((b) => b === 0));
    const smaller = bigger.resize(17);
    assert.deepEqual(Buffer.from(smaller), pattern(size, 3).subarray(0, 17));
    assert.equal(smaller.fileSize(), 17);
    smaller.unmap();
  });

  test("an ANON map after protect(RDONLY) or a split advise() resizes into a writable map with its bytes", () => {
    const page = pageSize();
    const protectedMap = mapRegion(null, 4 * page, RDWR, ANON);
    protectedMap.set(pattern(4 * page, 9));
    protectedMap.protect(RDONLY);
    const writable = protectedMap.resize(8 * page);
    assert.equal(writable.pagesWritable, true);
    writable[0] = 1; // would fault the process if the pages had kept their read-only protection
    writable[8 * page - 1] = 2;
    assert.deepEqual(Buffer.from(writable.subarray(1, 4 * page)), pattern(4 * page, 9).subarray(1));
    writable.unmap();
    // Advice on part of the map splits it in the kernel's books (Linux cannot move such a range: it copies).
    const split = mapRegion(null, 4 * page, RDWR, ANON);
    split.set(pattern(4 * page, 4));
    split.advise("random", { offset: page, length: page });
    const grown = split.resize(5 * page);
    assert.deepEqual(Buffer.from(grown.subarray(0, 4 * page)), pattern(4 * page, 4));
    grown.unmap();
  });

  testUnless(
    movesReason(),
    "an ANON map's pages move rather than being copied (Linux mremap): no page is faulted in again",
    () => {
      const size = 32 << 20;
      const m = mapRegion(null, size, RDWR, ANON);
      m.fill(3); // every page faulted in now
      const before = process.resourceUsage().minorPageFault;
      const bigger = m.resize(size * 2);
      const faults = process.resourceUsage().minorPageFault - before;
      assert.ok(faults < size / pageSize() / 8, `${faults} page faults for a resize of ${size / pageSize()} pages`);
      assert.equal(bigger[0], 3);
      assert.equal(bigger[size - 1], 3);
      assert.equal(bigger[size], 0);
      bigger.unmap();
    },
  );
  test("an ANON map made RDONLY | EXEC keeps its bytes and its protection (the copy goes into read-only pages)", () => {
    const m = mapRegion(null, 5000, RDONLY | EXEC, ANON);
    // The only way to change its bytes; Windows refuses to make a read-only view of an anonymous
    // section writable (EINVAL from VirtualProtect), so there its bytes stay zeros.
    let written = true;
    try {
      m.protect(RDWR);
    } catch (error) {
      if (process.platform !== "win32") throw error;
      assert.equal((error as { code?: string }).code, "EINVAL");
      written = false;
    }
    const expected = written ? pattern(5000, 7) : Buffer.alloc(5000);
    if (written) m.set(expected);
    const n = m.resize(9000);
    assertGone(m);
    assert.equal(n.prot, RDONLY | EXEC);
    assert.equal(n.pagesWritable, !caps.enforcesProtection);
    assert.deepEqual(Buffer.from(n.subarray(0, 5000)), expected);
    assert.ok(n.subarray(5000).every((b) => b === 0));
    const k = n.resize(100);
    assert.deepEqual(Buffer.from(k), expected.subarray(0, 100));
    k.unmap();
  });

  test("an RDWR map never writes back bytes it did not change (another writer's stay)", () => {
    const file = tempFile(pattern(8192));
    const m = mapFile(file, { prot: RDWR, keepOpen: true });
    m[100] = 0xee; // a change of this map, not flushed
    // Another writer changes bytes this map never touched; the fallback's memory does not see them.
    withFd(file, "r+", (fd) => fs.writeSync(fd, Buffer.from("other"), 0, 5, 10));
    const n = m.resize(3 * 4096);
    assert.equal(n[100], 0xee);
    n[200] = 0xdd;
    n.flush();
    withFd(file, "r+", (fd) => fs.writeSync(fd, Buffer.from("again"), 0, 5, 100 + 1)); // after the resize too
    n.unmap();
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(10, 15).toString(), "other", "the other writer's bytes were written over");
    assert.equal(bytes.subarray(101, 106).toString(), "again", "the other writer's bytes were written over");
    assert.equal(bytes[100], 0xee);
    assert.equal(bytes[200], 0xdd);
  });

  test("a COPY map keeps its private changes and never writes the file", () => {
    const file = tempFile(pattern(20_000));
    const m = mapFile(file, { prot: COPY, keepOpen: true });
    m[10] = 0xaa;
    const n = m.resize(15_000);
    assert.equal(n.prot, COPY);
    assert.equal(n[10], 0xaa, "private change carried over");
    const past = throwsCode(() => n.resize(20_001), RangeError, "ERR_OUT_OF_RANGE"); // only RDWR grows the file
    assert.match(past.message, /"newLength".*only an RDWR map extends its file/s);
    assert.equal(n.unmapped, false, "a refused resize leaves the map as it was");
    assert.equal(n[10], 0xaa);
    n.unmap();
    assert.deepEqual(fs.readFileSync(file), pattern(20_000));
  });

  test("an RDONLY map reads the file again and cannot pass its end", () => {
    const file = tempFile(pattern(9000));
    const m = mapFile(file, { prot: RDONLY, keepOpen: true, length: 100 });
    const n = m.resize(9000);
    assert.deepEqual(Buffer.from(n), pattern(9000));
    throwsCode(() => n.resize(9001), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => n.resize(10, { truncate: true }), TypeError, "ERR_INVALID_ARG_VALUE");
    assert.equal(fs.statSync(file).size, 9000);
    n.unmap();
  });

  test("an empty map kept open grows from nothing", () => {
    const file = tempFile("");
    const m = mapFile(file, { prot: RDWR, keepOpen: true });
    assert.equal(m.length, 0);
    const n = m.resize(4096);
    assertGone(m);
    n[4095] = 9;
    n.unmap();
    assert.equal(fs.readFileSync(file)[4095], 9);
  });

  test("bad arguments are coded errors and leave the map as it was", () => {
    const file = tempFile(pattern(4096));
    const m = mapFile(file, { prot: RDWR, keepOpen: true });
    for (const bad of ["10", null, undefined, {}]) {
      throwsCode(() => m.resize(bad as unknown as number), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 0n, 2 ** 53]) {
      throwsCode(() => m.resize(bad), RangeError, "ERR_OUT_OF_RANGE");
    }
    throwsCode(() => m.resize(10, null as unknown as object), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.resize(10, { truncate: 1 as unknown as boolean }), TypeError, "ERR_INVALID_ARG_TYPE");
    assert.equal(m.unmapped, false);
    assert.deepEqual(Buffer.from(m), pattern(4096));
    assert.equal(fs.statSync(file).size, 4096);
    const n = m.resize(5n);
    assert.equal(n.length, 5);
    n.unmap();
  });

  test("a file map that does not keep its file: ERR_MMAP_NO_FILE, the map untouched", () => {
    const m = mapFile(tempFile(pattern(4096)), { prot: RDWR });
    const error = throwsCode(() => m.resize(8192), Error, "ERR_MMAP_NO_FILE");
    assert.match(error.message, /keepOpen/);
    assert.equal(m.unmapped, false);
    m.unmap();
  });

  test("after unmap(): ERR_MMAP_UNMAPPED; an options getter that unmaps is caught too", () => {
    const m = mapFile(tempFile(pattern(4096)), { prot: RDWR, keepOpen: true });
    const options = {
      get truncate() {
        m.unmap();
        return false;
      },
    };
    throwsCode(() => m.resize(8192, options), Error, "ERR_MMAP_UNMAPPED");
    throwsCode(() => m.resize(8192), Error, "ERR_MMAP_UNMAPPED");
  });

  test("while a flushAsync() is pending: EBUSY, and the map stays usable", async () => {
    const file = tempFile(pattern(65536));
    const m = mapFile(file, { prot: RDWR, keepOpen: true });
    m[0] = 1;
    const pending = m.flushAsync();
    const error = throwsCode(() => m.resize(4096), Error, "EBUSY");
    assert.equal(error.syscall, "resize");
    await pending;
    const n = m.resize(4096);
    assert.equal(n[0], 1);
    n.unmap();
  });

  testUnless(
    linux ? undefined : "reads VmLck from /proc/self/status, which only Linux has",
    "an ANON map after lock(): resizes leave nothing charged to the process's locked memory (VmLck); the lock is not carried over",
    () => {
      const vmLck = (): number => Number(/VmLck:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1]);
      const page = pageSize();
      const before = vmLck();
      let m = mapRegion(null, 4 * page, RDWR, ANON);
      m.fill(3);
      m.lock();
      const kib = page / 1024;
      assert.equal(vmLck() - before, caps.locksMemory ? 4 * kib : 0);
      // Before the fix each move charged the old size for good (mremap's MREMAP_DONTUNMAP), until
      // lock() failed with ENOMEM under RLIMIT_MEMLOCK with nothing locked at all.
      for (const pages of [6, 4, 6, 5]) {
        m = m.resize(pages * page);
        assert.equal(m[0], 3);
        assert.equal(vmLck(), before, `after resize(${pages} pages): nothing locked, nothing charged`);
        m.lock();
        assert.equal(vmLck() - before, caps.locksMemory ? pages * kib : 0, "locked again: exactly the new map");
      }
      m.unmap();
      assert.equal(vmLck(), before, "unmapped: nothing left charged");
    },
  );

  testUnless(
    process.platform === "win32" ? "needs a FIFO (mkfifo), for an fs.read that waits until the test writes" : undefined,
    "unmap() and resize() while fs.read waits to write into the map: EBUSY with the map as it was (Bun), or done, the old map detached",
    async () => {
      // Bun pins a buffer native code works on; its transfer() of a pinned buffer returns
      // without detaching it (no error): koffi and the fallback took that for a detach.
      const fifo = `${tempFile()}.fifo`;
      execFileSync("mkfifo", [fifo]);
      const fd = fs.openSync(fifo, fs.constants.O_RDWR); // O_RDWR: the open does not wait for a writer
      const page = pageSize();
      const attempt = async (how: "unmap" | "resize"): Promise<void> => {
        const m = mapRegion(null, 4 * page, RDWR, ANON);
        m.fill(5);
        let done = false;
        const read = new Promise<number | string>((resolve) =>
          fs.read(fd, m, 100, 4, null, (error, n) => {
            done = true;
            resolve(error ? String(error.code) : n);
          }),
        );
        let next: MMap | undefined;
        let busy = false;
        try {
          try {
            if (how === "unmap") m.unmap();
            else next = m.resize(8 * page);
          } catch (error) {
            assert.equal((error as { code?: string }).code, "EBUSY", String(error));
            busy = true;
          }
          if (busy) {
            // Nothing changed: the map keeps its length and bytes, and takes the read.
            assert.equal(m.unmapped, false);
            assert.equal(m.length, 4 * page);
            assert.deepEqual([m[0], m[100]], [5, 5]);
          } else {
            assertGone(m);
            if (next) assert.deepEqual([next.length, next[0], next[100]], [8 * page, 5, 5]);
          }
        } finally {
          // Whatever happened, the read gets its bytes and ends (a closed descriptor would not end it).
          if (!done) fs.writeSync(fd, "ABCD");
        }
        const n = await read; // not busy: into a detached or retired range, whatever the system did there
        if (busy) {
          assert.equal(n, 4);
          assert.equal(m[100], 0x41);
          if (how === "unmap") m.unmap();
          else next = m.resize(8 * page);
          assertGone(m);
        }
        if (next) {
          assert.equal(next[100], busy ? 0x41 : 5);
          next.unmap();
        }
      };
      try {
        await attempt("unmap");
        await attempt("resize");
      } finally {
        fs.closeSync(fd);
        fs.rmSync(fifo, { force: true });
      }
    },
  );

  testUnless(
    linux ? undefined : "counts open descriptors through /proc/self/fd, which only Linux has",
    "the descriptor passes from map to map and is closed once, by the last unmap()",
    () => {
      const file = tempFile(pattern(4096));
      const before = fs.readdirSync("/proc/self/fd").length;
      // What a map holds without keepOpen (the fallback's RDWR maps hold a descriptor of their own).
      const plain = mapFile(file, { prot: RDWR });
      const own = fs.readdirSync("/proc/self/fd").length - before;
      plain.unmap();
      let m = mapFile(file, { prot: RDWR, keepOpen: true });
      for (let i = 1; i <= 20; i++) m = m.resize(4096 + i * 1000);
      assert.equal(fs.readdirSync("/proc/self/fd").length, before + own + 1);
      m.unmap();
      assert.equal(fs.readdirSync("/proc/self/fd").length, before);
      assert.equal(fs.statSync(file).size, 4096 + 20 * 1000);
    },
  );
});
