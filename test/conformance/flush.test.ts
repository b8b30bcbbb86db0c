/** flush and flushAsync: whole maps, ranges, and what reaches the file. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { map, mapFile, mapRegion, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { caps, pattern, tempFile, withFd } from "./helpers.js";

describe("flush", () => {
  test("a range flush writes that range, wherever it starts", () => {
    const size = 5 * 65536;
    const file = tempFile(Buffer.alloc(size));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m[70_001] = 1;
    m[200_000] = 2;
    m.flush({ offset: 70_001, length: 1 });
    const after = fs.readFileSync(file);
    assert.equal(after[70_001], 1);
    // Bytes outside the flushed range reach the file before unmap only if the map is the page cache.
    assert.equal(after[200_000], caps.sharesPageCache ? 2 : 0);
    m.flush({ offset: 199_999 });
    assert.equal(fs.readFileSync(file)[200_000], 2);
    m.unmap();
  });

  test("a flush of a map at an unaligned offset writes to the right place", () => {
    const file = tempFile(pattern(100_000));
    const m = withFd(file, "r+", (fd) => mapRegion(fd, 1000, RDWR, 0, 65_541));
    m.fill(0xfe);
    m.flush({ offset: 10, length: 980 });
    const after = fs.readFileSync(file);
    assert.ok(after.subarray(65_551, 66_531).every((b) => b === 0xfe));
    assert.deepEqual(after.subarray(0, 65_541), pattern(100_000).subarray(0, 65_541));
    assert.deepEqual(after.subarray(66_541), pattern(100_000).subarray(66_541));
    m.unmap();
    assert.ok(
      fs
        .readFileSync(file)
        .subarray(65_541, 66_541)
        .every((b) => b === 0xfe),
    );
  });

  test("an empty range does nothing", () => {
    const file = tempFile(pattern(100));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m.flush({ offset: 100 });
    m.flush({ offset: 3, length: 0 });
    m.unmap();
  });

  test("flushAsync resolves after the bytes are in the file", async () => {
    const file = tempFile(pattern(50_000));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m.fill(3, 40_000);
    const pending = m.flushAsync({ offset: 40_000 });
    assert.ok(pending instanceof Promise);
    assert.equal(await pending, undefined);
    assert.ok(
      fs
        .readFileSync(file)
        .subarray(40_000)
        .every((b) => b === 3),
    );
    await m.flushAsync();
    m.unmap();
  });

  test("unmap while a flushAsync is pending is safe and keeps the data", async () => {
    const file = tempFile(Buffer.alloc(1 << 20));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m.fill(8);
    const pending = m.flushAsync();
    m.unmap();
    await pending;
    assert.ok(fs.readFileSync(file).every((b) => b === 8));
  });

  test("unmap of a mapFile map while a flushAsync is pending touches no other file", async () => {
    const file = tempFile(Buffer.alloc(1 << 20));
    const other = tempFile(pattern(16));
    const m = mapFile(file, { prot: RDWR });
    m.fill(6);
    const pending = m.flushAsync();
    m.unmap();
    // The descriptor numbers the map used are free again: whoever gets them must see no write.
    const fds = [fs.openSync(other, "r+"), fs.openSync(other, "r+"), fs.openSync(other, "r+")];
    await pending;
    for (const fd of fds) fs.closeSync(fd);
    assert.deepEqual(fs.readFileSync(other), pattern(16));
    assert.ok(fs.readFileSync(file).every((b) => b === 6));
  });

  test("flushAsync on an unmapped map rejects with ERR_MMAP_UNMAPPED", async () => {
    const m = mapRegion(null, 10, RDWR, 1);
    m.unmap();
    await assert.rejects(m.flushAsync(), { code: "ERR_MMAP_UNMAPPED" });
  });
});
