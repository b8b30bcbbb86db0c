/**
 * `mapFile`'s `keepOpen`, `MMap.fileSize()` and `adviceSupported()`: the
 * file's size as the system sees it now, through the descriptor the map
 * keeps, and which advice reaches the system.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { type Advice, ANON, adviceSupported, map, mapFile, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, pattern, tempFile, throwsCode, withFd } from "./helpers.js";

const linux = process.platform === "linux";
const windows = process.platform === "win32";

/** The process's open descriptors (Linux: /proc/self/fd). */
function openDescriptors(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** Why descriptor counts cannot be checked here, if they cannot. */
const noDescriptorList = linux ? undefined : "counts open descriptors through /proc/self/fd, which only Linux has";

describe("keepOpen and fileSize()", () => {
  test("fileSize() reports the file's size now, as another writer changes it", () => {
    for (const prot of [RDONLY, RDWR]) {
      // A file per map: on Windows without placeholders an unmapped view holds the file until it is collected.
      const file = tempFile(pattern(10_000));
      const m = mapFile(file, { prot, keepOpen: true, length: 5000 });
      assert.equal(m.fileSize(), 10_000);
      fs.truncateSync(file, 20_000); // grows: every system allows that under a view
      assert.equal(m.fileSize(), 20_000);
      if (!windows) {
        // Shrinking under a live map: allowed on POSIX (Windows refuses it while a view maps the file).
        fs.truncateSync(file, 7000);
        assert.equal(m.fileSize(), 7000);
      }
      m.unmap();
    }
  });

  testUnless(noDescriptorList, "a map keeps its descriptor only when asked, and closes it at unmap()", () => {
    const file = tempFile(pattern(4096));
    const before = openDescriptors();
    const plain = mapFile(file);
    assert.equal(openDescriptors(), before, "without keepOpen the descriptor is closed once the map exists");
    const kept = mapFile(file, { keepOpen: true });
    assert.equal(openDescriptors(), before + 1, "keepOpen keeps one descriptor");
    kept.unmap();
    assert.equal(openDescriptors(), before, "unmap() closes it");
    plain.unmap();
  });

  test("an empty file kept open reports 0, then its growth; unmap() closes it", () => {
    const file = tempFile("");
    const before = linux ? openDescriptors() : 0;
    const m = mapFile(file, { keepOpen: true });
    assert.equal(m.length, 0);
    assert.equal(m.fileSize(), 0);
    fs.writeFileSync(file, "abc");
    assert.equal(m.fileSize(), 3);
    m.unmap();
    if (linux) assert.equal(openDescriptors(), before);
    throwsCode(() => m.fileSize(), Error, "ERR_MMAP_UNMAPPED");
  });

  test("a map that does not keep its file: ERR_MMAP_NO_FILE, saying how", () => {
    const file = tempFile(pattern(100));
    const m = mapFile(file);
    const error = throwsCode(() => m.fileSize(), Error, "ERR_MMAP_NO_FILE");
    assert.match(error.message, /keepOpen: true/);
    const n = withFd(file, "r", (fd) => map(fd));
    throwsCode(() => n.fileSize(), Error, "ERR_MMAP_NO_FILE");
    m.unmap();
    n.unmap();
  });

  test("an ANON map's fileSize() is its length (Python's size() of an anonymous map)", () => {
    const m = mapRegion(null, 12_345, RDWR, ANON);
    assert.equal(m.fileSize(), 12_345);
    m.unmap();
    throwsCode(() => m.fileSize(), Error, "ERR_MMAP_UNMAPPED");
  });

  test("keepOpen must be a boolean, checked before the file is opened", () => {
    for (const bad of [1, "yes", {}, 0]) {
      throwsCode(
        () => mapFile("/this/file/does/not/exist", { keepOpen: bad as unknown as boolean }),
        TypeError,
        "ERR_INVALID_ARG_TYPE",
      );
    }
  });

  test("fileSize() after the memory moved: ERR_MMAP_DETACHED", () => {
    const m = mapFile(tempFile(pattern(4096)), { keepOpen: true });
    const buffer = m.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
    if (typeof buffer.transfer !== "function" || !caps.detachesOnUnmap) {
      // Without transfer() (Node 20) the memory cannot be moved from JavaScript; the map stays usable.
      assert.equal(m.fileSize(), 4096);
    } else {
      try {
        buffer.transfer();
      } catch {
        // A runtime that refuses to move external memory: the map is untouched.
      }
      if (m.buffer.byteLength === 0) throwsCode(() => m.fileSize(), Error, "ERR_MMAP_DETACHED");
      else assert.equal(m.fileSize(), 4096);
    }
    m.unmap();
  });
});

describe("adviceSupported()", () => {
  const all: Advice[] = ["normal", "random", "sequential", "willneed", "dontneed"];

  test("says which advice reaches the system, as documented for this backend and system", () => {
    const expected: readonly Advice[] =
      backendName === "fallback"
        ? []
        : windows
          ? ["willneed"]
          : linux
            ? ["normal", "random", "sequential", "willneed"]
            : all;
    for (const advice of all) assert.equal(adviceSupported(advice), expected.includes(advice), advice);
    // advise() takes every value all the same: a hint that is not supported does nothing.
    const m = mapFile(tempFile(pattern(8192)));
    for (const advice of all) m.advise(advice);
    assert.deepEqual(Buffer.from(m), pattern(8192));
    m.unmap();
  });

  test("anything but the five advice strings is a coded TypeError", () => {
    throwsCode(() => adviceSupported(3 as unknown as Advice), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => adviceSupported("free" as Advice), TypeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => adviceSupported("WILLNEED" as Advice), TypeError, "ERR_INVALID_ARG_VALUE");
  });
});
