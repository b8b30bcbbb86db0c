/** Every bad argument and system failure, with Node's error classes and codes. */
import * as assert from "node:assert/strict";
import { constants } from "node:buffer";
import * as fs from "node:fs";
import { ANON, COPY, map, mapFile, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { backendName, pattern, tempFile, throwsCode, withFd } from "./helpers.js";

describe("bad arguments", () => {
  const file = tempFile(pattern(100));

  test("file of the wrong type is ERR_INVALID_ARG_TYPE", () => {
    for (const bad of ["3", {}, null, undefined, 2n, true]) {
      throwsCode(() => mapRegion(bad as never, 10), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    throwsCode(() => map("x" as never), TypeError, "ERR_INVALID_ARG_TYPE");
  });

  test("a negative or fractional descriptor is ERR_OUT_OF_RANGE", () => {
    throwsCode(() => map(-1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => map(1.5), RangeError, "ERR_OUT_OF_RANGE");
  });

  test("a FileHandle-like's fd is checked like a number, and read once", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 18.5, 2 ** 32 + 18, -2]) {
      throwsCode(() => map({ fd: bad }), RangeError, "ERR_OUT_OF_RANGE");
    }
    throwsCode(() => map({ fd: "3" } as never), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => map({ fd: -1 }), Error, "EBADF"); // a closed FileHandle
    withFd(file, "r", (fd) => {
      let reads = 0;
      const handle = {
        get fd() {
          reads++;
          return reads === 1 ? fd : 0; // a second read would map stdin
        },
      };
      const m = map(handle);
      assert.equal(reads, 1);
      assert.deepEqual(Buffer.from(m), pattern(100));
      m.unmap();
    });
  });

  test("prot of the wrong type or value", () => {
    withFd(file, "r", (fd) => {
      throwsCode(() => map(fd, "2" as never), TypeError, "ERR_INVALID_ARG_TYPE");
      // 2 ** 32 + 2 is RDWR after a ToInt32 wrap: refused, never taken for it.
      for (const bad of [1, 3, 6, 16, -1, 2.5, Number.NaN, 2 ** 32 + 2, 2 ** 32, -(2 ** 32) + 2]) {
        const error = throwsCode(() => map(fd, bad), TypeError, "ERR_INVALID_ARG_VALUE");
        assert.match(error.message, /RDONLY, RDWR or COPY/);
      }
    });
  });

  test("flags of the wrong type or value", () => {
    withFd(file, "r", (fd) => {
      throwsCode(() => mapRegion(fd, 10, RDONLY, "1" as never), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, true as never), TypeError, "ERR_INVALID_ARG_TYPE");
      // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
      throwsCode(() => mapRegion(fd, 10, RDONLY, 4), TypeError, "ERR_INVALID_ARG_VALUE");
      // 2 ** 32 + 2 is POPULATE after a ToInt32 wrap: refused, never taken for it.
      for (const bad of [-1, -2, 4, 5, 6, 8, 16, 1.5, 2.5, Number.NaN, 2 ** 32 + 2, 2 ** 32 + 1]) {
        const error = throwsCode(() => mapRegion(fd, 10, RDONLY, bad), TypeError, "ERR_INVALID_ARG_VALUE");
        assert.match(error.message, /0, ANON, POPULATE or ANON \| POPULATE/);
        throwsCode(() => map(fd, RDONLY, bad), TypeError, "ERR_INVALID_ARG_VALUE");
        throwsCode(() => mapFile(file, { flags: bad }), TypeError, "ERR_INVALID_ARG_VALUE");
      }
      // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
      throwsCode(() => map(fd, RDONLY, ANON), TypeError, "ERR_INVALID_ARG_VALUE");
      // ANON | POPULATE, written as its value: a type error in TypeScript, a coded error at run time.
      // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
      throwsCode(() => map(fd, RDONLY, 3), TypeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => map(fd, RDONLY, "2" as never), TypeError, "ERR_INVALID_ARG_TYPE");
    });
  });

  test("length and offset types and ranges", () => {
    withFd(file, "r", (fd) => {
      throwsCode(() => mapRegion(fd, "10" as never), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => mapRegion(fd, 1.5), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, Number.NaN), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, 0, -1), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, 0, -1n), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, 0, 0.5), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, 0, 2n ** 63n), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => mapRegion(fd, 10, RDONLY, 0, {} as never), TypeError, "ERR_INVALID_ARG_TYPE");
    });
  });

  test("ANON needs a length > 0 and offset 0", () => {
    throwsCode(() => mapRegion(null, 0, RDWR, ANON), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => mapRegion(null, -1, RDWR, ANON), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => mapRegion(null, 10, RDWR, ANON, 4096), TypeError, "ERR_INVALID_ARG_VALUE");
  });

  test("a length above the runtime's buffer limit is a RangeError before any system call", () => {
    const over = constants.MAX_LENGTH + 1;
    // The descriptor is not even open: the length is refused before the file is looked at.
    const error = throwsCode(() => mapRegion(2 ** 31 - 1, over), RangeError, "ERR_OUT_OF_RANGE");
    assert.match(error.message, /largest buffer/);
    throwsCode(() => mapRegion(null, BigInt(over), RDWR, ANON), RangeError, "ERR_OUT_OF_RANGE");
    // Alignment counts: the limit applies to what is really mapped.
    throwsCode(() => mapRegion(2 ** 31 - 1, constants.MAX_LENGTH, RDONLY, 0, 1), RangeError, "ERR_OUT_OF_RANGE");
  });

  test("a region ending past 2^53 - 1 is a RangeError before any system call (sums of numbers round there)", () => {
    const top = Number.MAX_SAFE_INTEGER;
    // 2^53 - 1 + 2 rounds to 2^53: the end must be checked without the sum. The descriptor is not open.
    const error = throwsCode(() => mapRegion(2 ** 31 - 1, 2, RDWR, 0, top), RangeError, "ERR_OUT_OF_RANGE");
    assert.match(error.message, /2\^53 - 1/);
    throwsCode(() => mapFile(file, { offset: top, length: 2, prot: RDWR, grow: true }), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => mapRegion(2 ** 31 - 1, 4096, RDONLY, 0, BigInt(top - 100)), RangeError, "ERR_OUT_OF_RANGE");
  });

  test("mapFile options are checked", () => {
    throwsCode(() => mapFile(file, "r" as never), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => mapFile(file, { grow: 1 as never }), TypeError, "ERR_INVALID_ARG_TYPE");
    // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => mapFile(file, { flags: ANON }), TypeError, "ERR_INVALID_ARG_VALUE");
    // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => mapFile(file, { flags: 3 }), TypeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => mapFile(file, { flags: "2" as never }), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => mapFile(file, { populate: 1 as never }), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => mapFile(file, { populate: "yes" as never }), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => mapFile(file, { offset: -5 }), RangeError, "ERR_OUT_OF_RANGE");
    // @ts-expect-error: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => mapFile(file, { prot: 7 }), TypeError, "ERR_INVALID_ARG_VALUE");
  });

  test("a range outside the map is ERR_OUT_OF_RANGE, a non-object range ERR_INVALID_ARG_TYPE", () => {
    const m = mapRegion(null, 100, RDWR, ANON);
    throwsCode(() => m.flush({ offset: 101 }), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.flush({ offset: 50, length: 51 }), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.flush({ offset: -1 }), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.advise("normal", { length: 1.5 }), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.flush(5 as never), TypeError, "ERR_INVALID_ARG_TYPE");
    m.unmap();
  });

  test("messages read like Node's", () => {
    const type = throwsCode(() => mapRegion("x" as never, 1), TypeError, "ERR_INVALID_ARG_TYPE");
    assert.equal(
      type.message,
      "The \"file\" argument must be of type number or an instance of FileHandle. Received type string ('x')",
    );
    const range = throwsCode(() => mapRegion(null, 1, RDWR, ANON, -1), RangeError, "ERR_OUT_OF_RANGE");
    assert.equal(
      range.message,
      'The value of "offset" is out of range. It must be >= 0 && <= 9007199254740991. Received -1',
    );
  });
});

describe("system errors", () => {
  test("a read-only descriptor mapped RDWR is EACCES from mmap", () => {
    const file = tempFile(pattern(100));
    withFd(file, "r", (fd) => {
      const error = throwsCode(() => map(fd, RDWR), Error, "EACCES");
      // The failing call is named as the system names it: mmap, or CreateFileMappingW on Windows.
      const syscall = process.platform === "win32" && backendName !== "fallback" ? "CreateFileMappingW" : "mmap";
      assert.equal(error.syscall, syscall);
      assert.ok((error.errno ?? 0) < 0);
      assert.ok(error.message.startsWith(`EACCES: permission denied, ${syscall}`), error.message);
      // COPY and RDONLY need only read access.
      map(fd, COPY).unmap();
      map(fd, RDONLY).unmap();
    });
  });

  test("a write-only descriptor is EACCES even for RDONLY", () => {
    const file = tempFile(pattern(100));
    withFd(file, "w", (fd) => {
      fs.writeSync(fd, pattern(100));
      throwsCode(() => map(fd, RDONLY), Error, "EACCES");
    });
  });

  test("a closed descriptor is EBADF", () => {
    const fd = fs.openSync(tempFile(pattern(10)), "r");
    fs.closeSync(fd);
    const error = throwsCode(() => map(fd), Error, "EBADF");
    assert.ok((error.errno ?? 0) < 0);
    assert.equal(typeof error.syscall, "string");
  });

  test("a directory is ENODEV from mmap", () => {
    const dir = tempFile().replace(/[^/\\]+$/, "");
    withFd(dir, "r", (fd) => {
      const error = throwsCode(() => map(fd), Error, "ENODEV");
      assert.equal(error.syscall, "mmap");
    });
  });
});
