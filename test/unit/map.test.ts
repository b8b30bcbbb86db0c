/**
 * The API's mapping path against a scripted backend: what it asks a backend
 * for, the retry under strict overcommit, and putting a grown file back when
 * mapping fails.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "vitest";
import { COPY, RDONLY, RDWR } from "../../src/api/constants.js";
import { systemError } from "../../src/api/errors.js";
import { mapFileWith } from "../../src/api/map.js";
import { availableMemory, populateFits } from "../../src/api/populate.js";
import type { Backend, MapRequest } from "../../src/backends/contract.js";
import { memoryBackend, realCapabilities, tempFiles } from "./fixtures.js";

const { dir, fileWith } = tempFiles("portable-mmap-unit-", 7);

/** A backend whose `map` calls `onMap` (which may throw) and hands out plain memory. */
function scripted(onMap: (request: MapRequest) => void): { backend: Backend<number>; requests: MapRequest[] } {
  return memoryBackend("native", realCapabilities(), onMap);
}

const enomem = (request: MapRequest): void => {
  // As a strict kernel does: a writable private map is charged in full, and there is not enough.
  if (request.writable && !request.shared) throw systemError("ENOMEM", "mmap");
};

describe("mapping path", () => {
  test("RDONLY under strict overcommit is mapped read-only after ENOMEM, and says so", () => {
    const { backend, requests } = scripted(enomem);
    const m = mapFileWith(backend, fileWith(8192), { prot: RDONLY });
    assert.equal(m.pagesWritable, false);
    assert.deepEqual(
      requests.map((r) => r.writable),
      [true, false],
    );
  });

  test("COPY and RDWR are never mapped read-only behind the caller's back", () => {
    const { backend } = scripted(enomem);
    assert.throws(() => mapFileWith(backend, fileWith(8192), { prot: COPY }), { code: "ENOMEM", syscall: "mmap" });
    const m = mapFileWith(backend, fileWith(8192), { prot: RDWR });
    assert.equal(m.pagesWritable, true);
  });

  test("a failed map after grow puts the file back as it was, and removes a file it created", () => {
    const { backend } = scripted(() => {
      throw systemError("ENOMEM", "mmap");
    });
    const file = fileWith(100);
    assert.throws(() => mapFileWith(backend, file, { prot: RDWR, grow: true, length: 1 << 20 }), { code: "ENOMEM" });
    assert.equal(fs.statSync(file).size, 100);
    const created = path.join(dir, "created.bin");
    assert.throws(() => mapFileWith(backend, created, { prot: RDWR, grow: true, length: 1 << 20 }), {
      code: "ENOMEM",
    });
    assert.equal(fs.existsSync(created), false);
  });

  test("a reservation that fails leaves the file as it was; one the file system cannot make only extends it", () => {
    const full = scripted(() => {});
    full.backend.reserve = () => {
      throw systemError("ENOSPC", "posix_fallocate");
    };
    const file = fileWith(100);
    assert.throws(() => mapFileWith(full.backend, file, { prot: RDWR, grow: true, length: 1 << 20 }), {
      code: "ENOSPC",
    });
    assert.equal(fs.statSync(file).size, 100);
    const unsupported = scripted(() => {});
    unsupported.backend.reserve = () => {
      throw systemError("EOPNOTSUPP", "posix_fallocate");
    };
    const m = mapFileWith(unsupported.backend, file, { prot: RDWR, grow: true, length: 1 << 20 });
    assert.equal(m.length, 1 << 20);
    assert.equal(fs.statSync(file).size, 1 << 20);
  });
});

describe("POPULATE is followed only where it fits in memory", () => {
  test("at most half the memory available", () => {
    assert.equal(populateFits(2 ** 30, 2 ** 31), true);
    assert.equal(populateFits(2 ** 30 + 1, 2 ** 31), false);
    assert.equal(populateFits(1, 0), false);
    assert.equal(
      populateFits(2 ** 40, Number.POSITIVE_INFINITY),
      true,
      "where the runtime cannot tell, the hint is followed",
    );
  });
  test("a small POPULATE map asks the backend to prefault; a plain one does not", () => {
    const { backend, requests } = memoryBackend("native", realCapabilities());
    mapFileWith(backend, fileWith(8192), { populate: true }).unmap();
    mapFileWith(backend, fileWith(8192), {}).unmap();
    assert.deepEqual(
      requests.map((r) => r.populate),
      [availableMemory() >= 2 * 8192, false],
    );
  });
  test("the memory available is a number of bytes (or Infinity where the runtime cannot tell)", () => {
    const available = availableMemory();
    assert.ok(
      available === Number.POSITIVE_INFINITY || (Number.isSafeInteger(Math.floor(available)) && available >= 0),
    );
  });
});
