/**
 * The file helpers of the API layer (`src/api/file.ts`, `reopen.ts`) and
 * what openSharedMemory() does on macOS, run here with `process.platform`
 * reading "darwin" against a scripted backend: the matrix has no macOS cell,
 * and those paths would otherwise run nowhere; and a segment larger than any
 * buffer, which a sparse test file stands for.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "vitest";
import { maxLength } from "../../src/api/buffers.js";
import { COPY } from "../../src/api/constants.js";
import { systemError } from "../../src/api/errors.js";
import { fileSize, isMacSegment, setFileSize } from "../../src/api/file.js";
import { reopen } from "../../src/api/reopen.js";
import { openSharedMemoryWith } from "../../src/api/shared.js";
import type { SharedOpen } from "../../src/backends/contract.js";
import { testUnless } from "../unless.js";
import { memoryBackend, realCapabilities, tempFiles } from "./fixtures.js";

const { fileWith } = tempFiles("portable-mmap-unit-file-", 3);
const linux = process.platform === "linux" ? undefined : "/proc/self/fd is Linux's";

/** Runs `body` with `process.platform` reading "darwin", then puts the property back as it was. */
function asDarwin<T>(body: () => T): T {
  const own = Object.getOwnPropertyDescriptor(process, "platform") as PropertyDescriptor;
  Object.defineProperty(process, "platform", { value: "darwin", configurable: true, enumerable: true, writable: true });
  try {
    return body();
  } finally {
    Object.defineProperty(process, "platform", own);
  }
}

/** A closed descriptor's number (nothing else opened meanwhile reuses it). */
function closedDescriptor(): number {
  const fd = fs.openSync(fileWith(1), "r");
  fs.closeSync(fd);
  return fd;
}

describe("reopen() and setFileSize()", () => {
  testUnless(linux, "reopen() opens the same file anew through /proc/self/fd, a new open file description", () => {
    const file = fileWith(10);
    const fd = fs.openSync(file, "r");
    try {
      const own = reopen(fd);
      try {
        assert.equal(own.fresh, true);
        assert.notEqual(own.fd, fd);
        fs.writeSync(own.fd, "x", 0);
        assert.equal(fs.readFileSync(file, "latin1")[0], "x", "opened read-write");
      } finally {
        fs.closeSync(own.fd);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  testUnless(
    linux,
    "reopen() throws when nothing it opens is accepted (ENOENT), or nothing opens (the last error)",
    () => {
      const fd = fs.openSync(fileWith(10), "r");
      const before = fs.readdirSync("/proc/self/fd").length;
      try {
        assert.throws(() => reopen(fd, () => false), { code: "ENOENT" });
        assert.equal(fs.readdirSync("/proc/self/fd").length, before, "what it opened and refused is closed");
      } finally {
        fs.closeSync(fd);
      }
      assert.throws(() => reopen(closedDescriptor()), { code: "ENOENT", syscall: "open" });
    },
  );

  test("setFileSize() on a descriptor that is closed is its EBADF (the reopen fails too)", () => {
    assert.throws(() => setFileSize(closedDescriptor(), 5), { code: "EBADF" });
  });
});

/** A POSIX backend whose segments are files: `exists` says whether `shmOpen` finds one; records what it opens and closes. */
function segmentBackend(size: number, exists: boolean) {
  const file = fileWith(size);
  const opened: SharedOpen[] = [];
  const closed: number[] = [];
  const { backend: posix } = memoryBackend("native", realCapabilities(), () => {}, {
    shmOpen(how) {
      opened.push(how);
      if (how.exclusive && exists) throw systemError("EEXIST", "shm_open");
      return fs.openSync(file, "r+");
    },
    shmUnlink: () => {},
    closeDescriptor(fd) {
      closed.push(fd);
      fs.closeSync(fd);
    },
  });
  return { posix, opened, closed, file };
}

describe("macOS (process.platform reads darwin)", () => {
  const { backend } = memoryBackend("native", realCapabilities());

  test("fileSize() of a regular file is its size; isMacSegment() is false for it and for a closed descriptor", () => {
    const fd = fs.openSync(fileWith(1234), "r");
    try {
      asDarwin(() => {
        assert.equal(fileSize(backend, fd), 1234);
        assert.equal(isMacSegment(fd), false);
        assert.equal(isMacSegment(closedDescriptor()), false);
      });
      assert.equal(isMacSegment(fd), false, "never a segment elsewhere");
    } finally {
      fs.closeSync(fd);
    }
  });

  test("COPY is ERR_MMAP_UNSUPPORTED before any system call (macOS maps shared memory only MAP_SHARED)", () => {
    const { posix, opened } = segmentBackend(4096, true);
    asDarwin(() => {
      assert.throws(() => openSharedMemoryWith(posix, "/seg", { prot: COPY }), {
        code: "ERR_MMAP_UNSUPPORTED",
        message: /MAP_SHARED/,
      });
    });
    assert.deepEqual(opened, []);
  });

  test("an existing segment cannot grow (macOS sets its size once): ERR_OUT_OF_RANGE, its descriptor closed, the file as it was", () => {
    const { posix, opened, closed, file } = segmentBackend(4096, true);
    asDarwin(() => {
      assert.throws(() => openSharedMemoryWith(posix, "/seg", { size: 40_000, create: true }), {
        code: "ERR_OUT_OF_RANGE",
        message: /macOS sets a segment's size once/,
      });
    });
    assert.equal(opened.length, 2, "O_EXCL first, then the existing segment");
    assert.equal(closed.length, 1, "the descriptor it opened is closed");
    assert.equal(fs.statSync(file).size, 4096);
  });
});

describe("openSharedMemory() over a scripted POSIX backend", () => {
  testUnless(
    maxLength < 2 ** 40 ? undefined : `this runtime's buffers reach ${maxLength} bytes: no test file can be larger`,
    "a segment larger than the largest buffer, opened without a size: ERR_OUT_OF_RANGE on options.size, saying to pass one",
    () => {
      const { posix, closed, file } = segmentBackend(1, true);
      fs.truncateSync(file, maxLength + 1); // sparse
      assert.throws(() => openSharedMemoryWith(posix, "/big", {}), {
        code: "ERR_OUT_OF_RANGE",
        message: /"options\.size".*pass a size to map its start/s,
      });
      assert.equal(closed.length, 1, "its descriptor is closed");
      const m = openSharedMemoryWith(posix, "/big", { size: 4096 });
      assert.equal(m.length, 4096);
      m.unmap();
      fs.truncateSync(file, 0);
    },
  );
});
