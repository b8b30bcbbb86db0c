/**
 * Where the fallback backend writes a shared map back (`writeTarget`): a
 * descriptor of its own where the file can be reopened, else the caller's,
 * refused where it is in append mode; and the errors of its `reserve`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "vitest";
import { MmapSystemError } from "../../src/api/errors.js";
import { sameFile } from "../../src/backends/fallback/descriptor.js";
import { createBackend } from "../../src/backends/fallback/index.js";
import { writeTarget } from "../../src/backends/fallback/target.js";
import { testUnless } from "../unless.js";
import { tempFiles } from "./fixtures.js";

const linux = process.platform === "linux";
const { fileWith } = tempFiles("portable-mmap-target-", 3);

/** A descriptor that is not open any more. */
function closedFd(): number {
  const fd = fs.openSync(fileWith(1), "r");
  fs.closeSync(fd);
  return fd;
}

/** Runs `body` with `file` open as `flags`, closing it afterwards. */
function withOpen<T>(file: string, flags: string, body: (fd: number) => T): T {
  const fd = fs.openSync(file, flags);
  try {
    return body(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const errorOf = (fn: () => unknown): MmapSystemError => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof MmapSystemError, `a system error, got ${error}`);
    return error;
  }
  throw new Error("nothing was thrown");
};

describe("fallback write target", () => {
  testUnless(
    linux ? undefined : "reopens through /proc/self/fd, which only Linux has",
    "reopen: a fresh descriptor of the same file, never in append mode",
    () => {
      const file = fileWith(4096);
      withOpen(file, "a+", (fd) => {
        const target = writeTarget(fd, true);
        try {
          assert.equal(target.own, true);
          assert.notEqual(target.fd, fd);
          assert.equal(target.placement, "positioned");
          assert.ok(sameFile(target.fd, fs.fstatSync(fd, { bigint: true })));
        } finally {
          fs.closeSync(target.fd);
        }
      });
    },
  );

  test("no reopen: the caller's descriptor, with its file's identity", () => {
    const file = fileWith(4096);
    withOpen(file, "r+", (fd) => {
      const target = writeTarget(fd, false);
      assert.equal(target.own, false);
      assert.equal(target.fd, fd);
      assert.equal(target.placement, linux ? "positioned" : "unknown");
      const stats = fs.fstatSync(fd, { bigint: true });
      assert.equal(target.identity?.ino, stats.ino);
      assert.ok(target.identity && sameFile(fd, target.identity));
    });
  });

  testUnless(
    linux ? undefined : "reads the open flags from /proc/self/fdinfo, which only Linux has",
    "no reopen and the caller's descriptor in append mode: EACCES saying why",
    () => {
      withOpen(fileWith(4096), "a+", (fd) => {
        const error = errorOf(() => writeTarget(fd, false));
        assert.equal(error.code, "EACCES");
        assert.equal(error.syscall, "mmap");
        assert.match(error.message, /the descriptor is in append mode/);
      });
    },
  );

  test("a descriptor that is not open: EBADF from mmap, with or without a reopen", () => {
    const fd = closedFd();
    for (const reopen of [true, false]) {
      const error = errorOf(() => writeTarget(fd, reopen));
      assert.equal(error.code, "EBADF");
      assert.equal(error.syscall, "mmap");
    }
  });

  test("sameFile is false for a descriptor that is not open", () => {
    const file = fileWith(1);
    const identity = withOpen(file, "r", (fd) => fs.fstatSync(fd, { bigint: true }));
    assert.equal(sameFile(closedFd(), identity), false);
  });

  test("reserve: EBADF named after fstat for a closed descriptor, after posix_fallocate for a read-only one", () => {
    const backend = createBackend();
    const bad = errorOf(() => backend.reserve?.(closedFd(), 0, 8192));
    assert.equal(bad.code, "EBADF");
    assert.equal(bad.syscall, "fstat");
    const file = fileWith(4096);
    withOpen(file, "r", (fd) => {
      const readOnly = errorOf(() => backend.reserve?.(fd, 0, 8192));
      assert.equal(readOnly.code, "EBADF");
      assert.equal(readOnly.syscall, "posix_fallocate");
    });
    assert.equal(fs.statSync(file).size, 4096, "the file as it was");
  });
});
