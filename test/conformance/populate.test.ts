/**
 * POPULATE: prefaulting at map time. A hint: it never changes what a map
 * reads or writes, never fails a map, and on Linux it never copies a private
 * map's file into anonymous memory (MAP_POPULATE would, on a private
 * writable mapping: the backends use MADV_POPULATE_READ there).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ANON, COPY, EXEC, map, mapFile, mapRegion, POPULATE, pageSize, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { caps, pattern, tempFile, throwsCode, withFd } from "./helpers.js";

const linux = process.platform === "linux";
const real = caps.sharesPageCache; // native or koffi: the map is the page cache
/** Under qemu-user (the matrix's arm64 cell), which answers madvise hints with success and does nothing. */
const emulated = process.env.PORTABLE_MMAP_TEST_LAUNCHER !== undefined;
const MiB = 1 << 20;

/** Resident kB of every mapping of `file` (/proc/self/smaps, Linux): pages the process's page tables map. */
function mappedKb(file: string): number {
  const shown = fs.realpathSync(file); // as /proc shows it, through any symbolic link in the temporary folder's path
  const blocks = fs.readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  let kb = 0;
  for (const block of blocks) {
    if (!(block.split("\n")[0] ?? "").endsWith(` ${shown}`)) continue;
    kb += Number(/^Rss:\s+(\d+) kB/m.exec(block)?.[1] ?? 0);
  }
  return kb;
}

/** RssAnon and RssFile of this process in kB (/proc/self/status, Linux). */
function rss(): { anon: number; file: number } {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return { anon: kb("RssAnon"), file: kb("RssFile") };
}

/** A file of `size` bytes of `pattern`, written in chunks (no buffer of its size), so in the page cache. */
function bigFile(size: number): string {
  const file = tempFile();
  const chunk = pattern(MiB);
  const fd = fs.openSync(file, "w");
  try {
    for (let at = 0; at < size; at += MiB) fs.writeSync(fd, chunk, 0, Math.min(MiB, size - at), at);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

describe("POPULATE", () => {
  test("a POPULATE map reads and writes what a plain one does, for every prot", () => {
    const size = 3 * 65536 + 1234;
    const bytes = pattern(size, 5);
    for (const prot of [RDONLY, RDWR, COPY]) {
      const file = tempFile(bytes);
      const plain = withFd(file, "r+", (fd) => map(fd, prot));
      const populated = withFd(file, "r+", (fd) => map(fd, prot, POPULATE));
      const region = withFd(file, "r+", (fd) => mapRegion(fd, 70_000, prot, POPULATE, 4097));
      assert.equal(plain.flags, 0);
      const negativeZero = withFd(file, "r", (fd) => map(fd, RDONLY, -0 as 0));
      assert.ok(Object.is(negativeZero.flags, 0), "-0 is reported as 0");
      negativeZero.unmap();
      assert.equal(populated.flags, POPULATE, `prot ${prot}`);
      assert.equal(region.flags, POPULATE);
      assert.equal(populated.prot, prot);
      assert.deepEqual(Buffer.from(populated), Buffer.from(plain), `prot ${prot}`);
      assert.deepEqual(Buffer.from(populated), bytes);
      assert.deepEqual(Buffer.from(region), bytes.subarray(4097, 74_097));
      // Writes: to the file with RDWR, to this map alone with RDONLY and COPY.
      populated[0] = 0xab;
      populated[size - 1] = 0xcd;
      region[0] = 0xef; // file byte 4097
      assert.equal(populated[0], 0xab);
      assert.equal(region[0], 0xef);
      if (prot === RDWR) {
        populated.flush();
        region.flush();
        // A map of the page cache sees the other maps' writes at once; the fallback's copies do not.
        if (caps.sharesPageCache) assert.equal(plain[0], 0xab);
      } else {
        assert.equal(plain[0], bytes[0], "a private write stays in its map");
      }
      plain.unmap();
      populated.unmap();
      region.unmap();
      const after = fs.readFileSync(file);
      if (prot === RDWR) {
        assert.deepEqual([after[0], after[4097], after[size - 1]], [0xab, 0xef, 0xcd]);
      } else {
        assert.deepEqual(after, bytes, `prot ${prot}: the file is unchanged`);
      }
    }
  });

  test("RDONLY | EXEC with POPULATE reads the file", () => {
    const bytes = pattern(2 * 65536 + 7);
    const file = tempFile(bytes);
    const m = withFd(file, "r+", (fd) => map(fd, RDONLY | EXEC, POPULATE));
    assert.equal(m.flags, POPULATE);
    assert.deepEqual(Buffer.from(m), bytes);
    m.unmap();
  });

  test("ANON | POPULATE is zero-filled memory that takes writes", () => {
    const length = 5 * pageSize() + 3;
    for (const prot of [RDWR, RDONLY]) {
      const m = mapRegion(null, length, prot, ANON | POPULATE);
      assert.equal(m.flags, ANON | POPULATE);
      assert.equal(m.length, length);
      assert.ok(
        m.every((b) => b === 0),
        "zero-filled",
      );
      m.fill(9);
      assert.ok(m.every((b) => b === 9));
      m.flush(); // nothing to write back, as for any ANON map
      m.unmap();
    }
  });

  test("mapFile: populate: true is flags: POPULATE; either way MMap.flags says POPULATE", () => {
    const bytes = pattern(100_000, 9);
    const file = tempFile(bytes);
    for (const [options, flags] of [
      [{ populate: true }, POPULATE],
      [{ flags: POPULATE }, POPULATE],
      [{ flags: POPULATE, populate: true }, POPULATE],
      [{ flags: POPULATE, populate: false }, POPULATE],
      [{ populate: false }, 0],
      [{ flags: 0 }, 0],
    ] as const) {
      const m = mapFile(file, { prot: COPY, ...options });
      assert.equal(m.flags, flags, JSON.stringify(options));
      assert.deepEqual(Buffer.from(m), bytes);
      m.unmap();
    }
    const rw = mapFile(file, { prot: RDWR, populate: true, offset: 70_000, length: 10 });
    rw.set([1, 2, 3]);
    rw.unmap();
    assert.deepEqual([...fs.readFileSync(file).subarray(70_000, 70_004)], [1, 2, 3, bytes[70_003]]);
  });

  test("mapFile with grow and populate extends the file and maps its new zero bytes", () => {
    const file = path.join(path.dirname(tempFile()), `grown-${process.pid}.bin`);
    const m = mapFile(file, { prot: RDWR, grow: true, length: 200_000, populate: true });
    assert.equal(m.flags, POPULATE);
    assert.ok(m.every((b) => b === 0));
    m[199_999] = 7;
    m.unmap();
    const after = fs.readFileSync(file);
    assert.equal(after.length, 200_000);
    assert.equal(after[199_999], 7);
  });

  test("an empty file with POPULATE is an empty map that keeps its flags", () => {
    const file = tempFile();
    const m = withFd(file, "r", (fd) => map(fd, RDONLY, POPULATE));
    assert.equal(m.length, 0);
    assert.equal(m.flags, POPULATE);
    m.unmap();
    const viaFile = mapFile(file, { populate: true });
    assert.equal(viaFile.flags, POPULATE);
    viaFile.unmap();
  });

  test("bad flags are coded errors before any system call", () => {
    const closed = 2 ** 31 - 1; // never open: a system call on it would be EBADF
    for (const bad of [4, 5, 6, 7, -2, 2.5, 2 ** 32 + 2]) {
      throwsCode(() => mapRegion(closed, 10, RDONLY, bad), TypeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => map(closed, RDONLY, bad), TypeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => mapFile("no-such-file.bin", { flags: bad }), TypeError, "ERR_INVALID_ARG_VALUE");
    }
    // ANON, alone or with POPULATE, needs mapRegion.
    for (const anon of [ANON, ANON | POPULATE]) {
      const error = throwsCode(() => map(closed, RDONLY, anon), TypeError, "ERR_INVALID_ARG_VALUE");
      assert.match(error.message, /ANON/);
      throwsCode(() => mapFile("no-such-file.bin", { flags: anon }), TypeError, "ERR_INVALID_ARG_VALUE");
    }
    throwsCode(() => mapFile("no-such-file.bin", { populate: 1 as never }), TypeError, "ERR_INVALID_ARG_TYPE");
    // POPULATE alone still needs a file.
    throwsCode(() => mapRegion(null, 10, RDONLY, POPULATE), TypeError, "ERR_INVALID_ARG_TYPE");
  });

  const residencyReason = emulated
    ? "under an emulator (PORTABLE_MMAP_TEST_LAUNCHER): qemu-user answers madvise hints with success and does nothing"
    : caps.reportsResidency && !linux
      ? `on ${process.platform} POPULATE only starts reading the pages in (MADV_WILLNEED, PrefetchVirtualMemory): nothing says they are mapped when map returns`
      : undefined;

  testUnless(
    residencyReason,
    "after a POPULATE map of a page-cached file, every page is resident (Linux: and mapped)",
    () => {
      const page = pageSize();
      const bytes = pattern(64 * page + 100);
      for (const prot of [RDONLY, RDWR, COPY]) {
        const file = tempFile(bytes); // just written: in the page cache
        const m = withFd(file, "r+", (fd) => map(fd, prot, POPULATE));
        const pages = m.residency();
        assert.equal(pages.length, 65);
        assert.ok(
          pages.every((b) => b === 1),
          `prot ${prot}: ${pages.filter((b) => b !== 1).length} pages not resident`,
        );
        // mincore reports a file page in the page cache as resident even where this map never
        // touched it: /proc/self/smaps shows what the map's page tables really map.
        if (linux && real) {
          const kb = (65 * page) / 1024;
          assert.equal(mappedKb(file), kb, `prot ${prot}: every page mapped right after map`);
        }
        m.unmap();
      }
    },
  );

  const anonReason = emulated
    ? "under an emulator (PORTABLE_MMAP_TEST_LAUNCHER), which may not pass MAP_POPULATE on"
    : caps.reportsResidency && !linux
      ? `on ${process.platform} POPULATE does not fault anonymous memory in (MADV_WILLNEED, PrefetchVirtualMemory)`
      : undefined;

  testUnless(anonReason, "ANON | POPULATE: every page is resident right after mapping", () => {
    const m = mapRegion(null, 16 * pageSize(), RDWR, ANON | POPULATE);
    // Without POPULATE an untouched anonymous page is not resident (memory.test.ts); the fallback reports all 1.
    assert.deepEqual([...m.residency()], new Array(16).fill(1));
    m.unmap();
  });

  const rssReason = !linux
    ? "reads RssAnon and RssFile from /proc/self/status, which only Linux has"
    : !real
      ? "the fallback reads the region into JavaScript memory by design (sharesPageCache: false): its anonymous memory grows by the map's size"
      : undefined;

  testUnless(rssReason, "a RDONLY or COPY POPULATE map does not copy the file into anonymous memory", () => {
    const size = 32 * MiB;
    const file = bigFile(size);
    const expected = pattern(MiB);
    for (const prot of [RDONLY, COPY]) {
      const before = rss();
      const m = withFd(file, "r", (fd) => map(fd, prot, POPULATE));
      const after = rss();
      const grewAnon = after.anon - before.anon;
      const grewFile = after.file - before.file;
      const sizeKb = size / 1024;
      // MAP_POPULATE on a private writable mapping would have copied all of it (RssAnon + 64 MiB).
      assert.ok(grewAnon < sizeKb / 4, `prot ${prot}: RssAnon grew by ${grewAnon} kB for a ${sizeKb} kB file`);
      // The pages are mapped from the page cache: RssFile grows by the file's size.
      if (!emulated)
        assert.ok(grewFile >= (sizeKb * 3) / 4, `prot ${prot}: RssFile grew by ${grewFile} kB, not ${sizeKb} kB`);
      assert.equal(m[0], expected[0]);
      assert.equal(m[size - 1], expected[MiB - 1]);
      m.unmap();
    }
  });
});
