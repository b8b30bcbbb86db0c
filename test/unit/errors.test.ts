/** The shared error shape, independent of any backend. */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import {
  invalidArgType,
  invalidArgValue,
  MmapSystemError,
  outOfRange,
  systemError,
  unmappedError,
  win32Error,
} from "../../src/api/errors.js";
import { describe, test } from "../harness.js";

describe("errors", () => {
  test("systemError from a host errno number reads like Node's SystemError", () => {
    const eacces = os.constants.errno.EACCES;
    const error = systemError(eacces, "mmap");
    assert.ok(error instanceof MmapSystemError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, "EACCES");
    assert.equal(error.syscall, "mmap");
    assert.equal(error.message, "EACCES: permission denied, mmap");
    assert.ok(error.errno < 0);
  });

  test("systemError from a name gives the same errno Node gives", () => {
    const error = systemError("ENOMEM", "mlock");
    assert.equal(error.code, "ENOMEM");
    assert.equal(error.message, "ENOMEM: not enough memory, mlock");
    let nodeErrno = 0;
    try {
      process.kill(process.pid, 9999);
    } catch (e) {
      nodeErrno = (e as { errno: number }).errno;
    }
    // EINVAL for the bad signal: same numbering as ours.
    assert.equal(systemError("EINVAL", "kill").errno, nodeErrno);
  });

  test("systemError with a path names it", () => {
    assert.equal(systemError("ENOENT", "open", "/x").message, "ENOENT: no such file or directory, open '/x'");
  });

  test("win32Error maps Windows numbers to POSIX codes and keeps the number", () => {
    const denied = win32Error(5, "MapViewOfFile");
    assert.equal(denied.code, "EACCES");
    assert.equal(denied.win32, 5);
    assert.equal(denied.syscall, "MapViewOfFile");
    assert.match(denied.message, /^EACCES: permission denied, MapViewOfFile \(Windows error 5\)$/);
    assert.equal(win32Error(1455, "MapViewOfFile").code, "ENOMEM");
    assert.equal(win32Error(6, "CloseHandle").code, "EBADF");
    assert.equal(win32Error(424242, "X").code, "EIO");
  });

  test("argument errors carry Node's codes and classes", () => {
    const type = invalidArgType("prot", "of type number", "x");
    assert.ok(type instanceof TypeError);
    assert.equal(type.code, "ERR_INVALID_ARG_TYPE");
    assert.match(String(type.stack), /^TypeError \[ERR_INVALID_ARG_TYPE\]: /);
    assert.equal(invalidArgValue("advice", "x").code, "ERR_INVALID_ARG_VALUE");
    const range = outOfRange("offset", ">= 0", -1n);
    assert.ok(range instanceof RangeError);
    assert.equal(range.message, 'The value of "offset" is out of range. It must be >= 0. Received -1n');
    assert.equal(unmappedError("flush").code, "ERR_MMAP_UNMAPPED");
  });
});
