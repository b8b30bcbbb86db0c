/** Mapping: whole files, regions, offsets, empty files, the end of the file, and what each prot means. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { open } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import {
  ANON,
  allocationGranularity,
  COPY,
  EXEC,
  MMap,
  map,
  mapFile,
  mapRegion,
  pageSize,
  RDONLY,
  RDWR,
} from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, pattern, tempFile, throwsCode, withFd } from "./helpers.js";

describe("map", () => {
  test("maps a whole file and reads its bytes", () => {
    const bytes = pattern(10_000);
    const m = withFd(tempFile(bytes), "r", (fd) => map(fd));
    assert.ok(m instanceof MMap);
    assert.ok(m instanceof Uint8Array);
    assert.equal(m.length, bytes.length);
    assert.deepEqual(Buffer.from(m), bytes);
    assert.equal(m.backend, backendName);
    assert.equal(m.prot, RDONLY);
    assert.equal(m.flags, 0);
    assert.equal(m.fileOffset, 0);
    assert.equal(m.unmapped, false);
    m.unmap();
  });

  test("an empty file maps to an empty MMap", () => {
    const file = tempFile();
    for (const prot of [RDONLY, RDWR, COPY]) {
      const m = withFd(file, "r+", (fd) => map(fd, prot));
      assert.equal(m.length, 0);
      m.flush();
      assert.deepEqual([...m.residency()], []);
      m.unmap();
      assert.equal(m.unmapped, true);
    }
  });

  test("accepts a FileHandle", async () => {
    const handle = await open(tempFile(pattern(100)), "r");
    try {
      const m = map(handle);
      assert.deepEqual(Buffer.from(m), pattern(100));
      m.unmap();
    } finally {
      await handle.close();
    }
  });

  test("subarray and slice return plain Uint8Arrays", () => {
    const m = withFd(tempFile(pattern(64)), "r", (fd) => map(fd));
    const sub = m.subarray(4, 8);
    const copy = m.slice(4, 8);
    assert.equal(Object.getPrototypeOf(sub), Uint8Array.prototype);
    assert.equal(Object.getPrototypeOf(copy), Uint8Array.prototype);
    assert.equal(sub.buffer, m.buffer);
    assert.deepEqual([...sub], [...pattern(64).subarray(4, 8)]);
    m.unmap();
  });

  test("asBuffer is a zero-copy Buffer over the same bytes", () => {
    const file = tempFile("hello mapped world");
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    const b = m.asBuffer();
    assert.ok(Buffer.isBuffer(b));
    assert.equal(b.toString(), "hello mapped world");
    assert.equal(b.indexOf("world"), 13);
    b[0] = "j".charCodeAt(0);
    assert.equal(m[0], "j".charCodeAt(0));
    m.unmap();
    assert.equal(fs.readFileSync(file, "utf8"), "jello mapped world");
  });

  test("MMap cannot be constructed directly; typed-array-style construction gives a plain Uint8Array", () => {
    // The type declares the constructor private; plain JavaScript can still call it.
    const Constructor = MMap as unknown as new (...args: unknown[]) => Uint8Array;
    const forged = { buffer: new ArrayBuffer(8), delta: 0, length: 8 };
    throwsCode(() => new Constructor(forged), TypeError, "ERR_ILLEGAL_CONSTRUCTOR");
    throwsCode(() => new Constructor(undefined), TypeError, "ERR_ILLEGAL_CONSTRUCTOR");
    // What streams, MMap.from and MMap.of do with a view's constructor.
    const buffer = new ArrayBuffer(16);
    for (const made of [new Constructor(buffer, 4, 8), new Constructor(4), MMap.from([1, 2, 3]), MMap.of(1, 2)]) {
      assert.equal(Object.getPrototypeOf(made), Uint8Array.prototype);
      assert.ok(!(made instanceof MMap));
    }
    assert.equal(new Constructor(buffer, 4, 8).buffer, buffer);
  });

  test("pageSize and allocationGranularity are powers of two, granularity a multiple of the page", () => {
    const page = pageSize();
    const granularity = allocationGranularity();
    assert.ok(page >= 4096 && (page & (page - 1)) === 0, `page size ${page}`);
    assert.ok(granularity >= page && granularity % page === 0, `granularity ${granularity}`);
  });
});

describe("mapRegion", () => {
  const size = 3 * 65536 + 1234;
  const bytes = pattern(size, 3);
  const file = tempFile(bytes);

  for (const offset of [0, 1, 4095, 4096, 4097, 65535, 65536, 70000, size - 1]) {
    test(`offset ${offset} (aligned or not) exposes exactly the requested bytes`, () => {
      const length = Math.min(5000, size - offset);
      const m = withFd(file, "r", (fd) => mapRegion(fd, length, RDONLY, 0, offset));
      assert.equal(m.length, length);
      assert.equal(m.fileOffset, offset);
      assert.equal(m.byteOffset, offset % allocationGranularity());
      assert.deepEqual(Buffer.from(m), bytes.subarray(offset, offset + length));
      m.unmap();
    });
  }

  test("a negative length maps to the end of the file", () => {
    const m = withFd(file, "r", (fd) => mapRegion(fd, -1, RDONLY, 0, 100));
    assert.equal(m.length, size - 100);
    assert.deepEqual(Buffer.from(m.subarray(-10)), bytes.subarray(size - 10));
    m.unmap();
  });

  test("length and offset accept bigint", () => {
    const m = withFd(file, "r", (fd) => mapRegion(fd, 10n, RDONLY, 0, 65537n));
    assert.equal(m.fileOffset, 65537);
    assert.deepEqual(Buffer.from(m), bytes.subarray(65537, 65547));
    m.unmap();
  });

  test("a zero length gives an empty map", () => {
    const m = withFd(file, "r", (fd) => mapRegion(fd, 0, RDONLY, 0, 10));
    assert.equal(m.length, 0);
    m.unmap();
  });

  test("offset at the end of the file with length -1 gives an empty map", () => {
    const m = withFd(file, "r", (fd) => mapRegion(fd, -1, RDONLY, 0, size));
    assert.equal(m.length, 0);
    m.unmap();
  });
});

describe("the end of the file", () => {
  test("a region past the end is a RangeError, not a fault later", () => {
    const file = tempFile(pattern(100));
    withFd(file, "r+", (fd) => {
      for (const prot of [RDONLY, RDWR, COPY]) {
        assert.throws(() => mapRegion(fd, 101, prot), {
          name: "RangeError",
          code: "ERR_OUT_OF_RANGE",
          message: /past the end of the file \(100 bytes\)/,
        });
      }
      assert.throws(() => mapRegion(fd, -1, RDONLY, 0, 101), RangeError);
    });
    assert.equal(fs.statSync(file).size, 100);
  });

  test("mapFile with RDWR and grow extends the file first", () => {
    const file = tempFile(pattern(100));
    const m = mapFile(file, { prot: RDWR, length: 10_000, offset: 5000, grow: true });
    assert.equal(fs.statSync(file).size, 15_000);
    assert.equal(m.length, 10_000);
    assert.ok(m.every((b) => b === 0));
    m[9999] = 7;
    m.unmap();
    const after = fs.readFileSync(file);
    assert.equal(after[14_999], 7);
    assert.deepEqual(after.subarray(0, 100), pattern(100));
  });

  test("mapFile with RDWR and grow creates a missing file", () => {
    const file = `${tempFile()}.new`;
    const m = mapFile(file, { prot: RDWR, length: 5000, grow: true });
    m[4999] = 1;
    m.unmap();
    assert.equal(fs.statSync(file).size, 5000);
    assert.equal(fs.readFileSync(file)[4999], 1);
    assert.throws(() => mapFile(`${file}.other`, { prot: COPY, length: 10, grow: true }), { code: "ENOENT" });
  });

  test("grow without RDWR is still a RangeError", () => {
    const file = tempFile(pattern(100));
    assert.throws(() => mapFile(file, { prot: COPY, length: 200, grow: true }), RangeError);
    assert.equal(fs.statSync(file).size, 100);
  });

  testUnless(
    process.platform === "win32" ? "Windows has no st_blocks to count what a file allocates" : undefined,
    "grow to a region far past the end reserves the region only: the gap before it stays a hole",
    () => {
      const file = tempFile(pattern(100));
      const m = mapFile(file, { prot: RDWR, length: 4096, offset: 256 * 2 ** 20, grow: true });
      m.unmap();
      const st = fs.statSync(file);
      assert.equal(st.size, 256 * 2 ** 20 + 4096);
      // 256 MiB of zeros written into the gap would allocate 256 MiB; the region and the first block, a few KiB.
      assert.ok(st.blocks * 512 <= 1 << 20, `${st.blocks * 512} bytes allocated`);
    },
  );

  test("grow within the file changes nothing", () => {
    const file = tempFile(pattern(100));
    const m = mapFile(file, { prot: RDWR, length: 50, grow: true });
    m.unmap();
    assert.equal(fs.statSync(file).size, 100);
  });
});

describe("mapFile", () => {
  test("maps by path, string or file: URL, and the map outlives the descriptor", () => {
    const file = tempFile(pattern(5000));
    for (const where of [file, pathToFileURL(file)]) {
      const m = mapFile(where, { offset: 1000, length: 100 });
      assert.deepEqual(Buffer.from(m), pattern(5000).subarray(1000, 1100));
      m.unmap();
    }
  });

  test("a missing file is ENOENT from open", () => {
    assert.throws(() => mapFile(`${tempFile()}.missing`), { code: "ENOENT", syscall: "open" });
  });

  test("RDWR writes through a map whose descriptor is already closed", () => {
    const file = tempFile(pattern(8192));
    const m = mapFile(file, { prot: RDWR });
    m.fill(9, 0, 8192);
    m.flush();
    assert.ok(fs.readFileSync(file).every((b) => b === 9));
    m.unmap();
  });
});

describe("prot semantics", () => {
  test("RDWR: writes reach the file after flush and after unmap", () => {
    const file = tempFile(pattern(10_000));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m[0] = 0xaa;
    m.flush();
    assert.equal(fs.readFileSync(file)[0], 0xaa);
    m[9999] = 0xbb;
    m.unmap();
    assert.equal(fs.readFileSync(file)[9999], 0xbb);
  });

  test("COPY: writes are seen in the map and never reach the file", () => {
    const bytes = pattern(10_000);
    const file = tempFile(bytes);
    const m = withFd(file, "r", (fd) => map(fd, COPY));
    m.fill(1);
    assert.ok(m.every((b) => b === 1));
    m.flush();
    m.unmap();
    assert.deepEqual(fs.readFileSync(file), bytes);
  });

  test("RDONLY: reads the file; a stray write never faults and never reaches the file", () => {
    const bytes = pattern(10_000);
    const file = tempFile(bytes);
    const m = withFd(file, "r", (fd) => map(fd, RDONLY));
    assert.deepEqual(Buffer.from(m), bytes);
    m[5] = 0;
    assert.equal(m[5], 0);
    m.flush();
    m.unmap();
    assert.deepEqual(fs.readFileSync(file), bytes);
  });

  test("EXEC combines with the others", () => {
    const file = tempFile(pattern(100));
    for (const prot of [RDONLY | EXEC, COPY | EXEC, RDWR | EXEC]) {
      const m = withFd(file, "r+", (fd) => map(fd, prot));
      assert.equal(m.prot, prot);
      assert.deepEqual(Buffer.from(m), pattern(100));
      m.unmap();
    }
  });

  test("ANON: zeroed memory of the requested length, readable and writable; the file is ignored", () => {
    for (const file of [null, -1, 12345]) {
      const m = mapRegion(file, 100_000, RDWR, ANON);
      assert.equal(m.length, 100_000);
      assert.equal(m.flags, ANON);
      assert.ok(m.every((b) => b === 0));
      m.fill(5);
      assert.equal(m[99_999], 5);
      m.flush();
      m.unmap();
    }
    const copy = mapRegion(null, 10, COPY, ANON);
    copy[0] = 1;
    assert.equal(copy[0], 1);
    copy.unmap();
  });

  test("two RDWR maps of one file share writes when the backend shares the page cache", () => {
    const file = tempFile(pattern(4096));
    const [a, b] = withFd(file, "r+", (fd) => [map(fd, RDWR), map(fd, RDWR)]);
    a[10] = 0xcd;
    if (caps.sharesPageCache) assert.equal(b[10], 0xcd);
    else assert.equal(b[10], pattern(4096)[10], "the fallback gives each map its own copy");
    a.flush();
    b[20] = 0xef;
    // b never wrote byte 10: unmapping it must not put an old value back over what a flushed.
    b.unmap();
    a.unmap();
    const after = fs.readFileSync(file);
    assert.equal(after[10], 0xcd);
    assert.equal(after[20], 0xef);
    assert.deepEqual(after.subarray(21), pattern(4096).subarray(21));
  });

  test("writes through RDWR are seen by read() before flush only when the backend shares the page cache", () => {
    const bytes = pattern(4096);
    const file = tempFile(bytes);
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m[0] = 0xee;
    const seen = fs.readFileSync(file)[0];
    assert.equal(seen, caps.sharesPageCache ? 0xee : bytes[0]);
    m.unmap();
    assert.equal(fs.readFileSync(file)[0], 0xee);
  });

  test("writes by others reach the map only when the backend shares the page cache", () => {
    const bytes = pattern(4096);
    const file = tempFile(bytes);
    const m = withFd(file, "r", (fd) => map(fd, RDONLY));
    withFd(file, "r+", (fd) => fs.writeSync(fd, Buffer.from([0x11]), 0, 1, 7));
    assert.equal(m[7], caps.sharesPageCache ? 0x11 : bytes[7]);
    m.unmap();
  });
});
