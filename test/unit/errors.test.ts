/** The shared error shape, independent of any backend. */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import { describe, test } from "vitest";
import {
  backendError,
  busyError,
  detachedError,
  ErrorCodes,
  faultError,
  fromNodeError,
  invalidArgType,
  invalidArgValue,
  lostChangesError,
  MmapSystemError,
  outOfRange,
  systemError,
  unmappedError,
  win32Error,
} from "../../src/api/errors.js";
import { checkMapCount, MAX_MAPS_ENV, mapLimit } from "../../src/api/limits.js";
import { readEnv } from "../../src/api/setting.js";
import { testUnless } from "../unless.js";

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
    // Ours is always Node's (libuv's) numbering: negative (on POSIX, the host's errno negated).
    assert.ok(error.errno < 0);
    if (process.platform !== "win32") assert.equal(error.errno, -os.constants.errno.ENOMEM);
    let runtimeErrno = 0;
    try {
      process.kill(process.pid, 9999);
    } catch (e) {
      runtimeErrno = (e as { errno: number }).errno;
    }
    // EINVAL for the bad signal. Node and Deno give it negated as libuv does,
    // Bun gives the positive number: the same error either way, and ours is Node's.
    const einval = systemError("EINVAL", "kill").errno;
    assert.ok(einval < 0);
    assert.equal(Math.abs(runtimeErrno), Math.abs(einval));
    if (!("Bun" in globalThis)) assert.equal(runtimeErrno, einval);
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

  test("systemError from a host errno libuv has no name for: the C library's name, else E<number>", () => {
    // EL2HLT (Linux 51) and friends are in os.constants.errno but not in libuv's table.
    const unnamed = Object.entries(os.constants.errno).find(([name]) => {
      try {
        return systemError(name, "x").message.includes("unknown error");
      } catch {
        return false;
      }
    });
    if (unnamed) {
      const [name, number] = unnamed;
      const error = systemError(number, "mmap");
      assert.equal(error.code, name);
      assert.equal(error.errno, -number);
      assert.equal(error.message, `${name}: unknown error, mmap`);
    }
    const error = systemError(98765, "mmap");
    assert.equal(error.code, "E98765");
    assert.equal(error.errno, -98765);
    assert.equal(error.message, "E98765: unknown error, mmap");
  });

  test("fromNodeError keeps Node's errno, takes the number from the code where there is none (Deno), passes others on", () => {
    const node = Object.assign(new Error("x"), { code: "ENOENT", errno: -2, syscall: "open", path: "/a" });
    const fromNode = fromNodeError(node, "mmap") as MmapSystemError;
    assert.ok(fromNode instanceof MmapSystemError);
    assert.equal(fromNode.code, "ENOENT");
    assert.equal(fromNode.errno, -2);
    assert.equal(fromNode.syscall, "mmap");
    assert.equal(fromNode.path, "/a");
    assert.equal((fromNodeError(node) as MmapSystemError).syscall, "open");
    const deno = fromNodeError(Object.assign(new Error("x"), { code: "EACCES" })) as MmapSystemError;
    assert.ok(deno instanceof MmapSystemError);
    assert.equal(deno.code, "EACCES");
    assert.equal(deno.errno, systemError("EACCES", "x").errno);
    assert.equal(deno.syscall, "unknown");
    const plain = new TypeError("not a system error");
    assert.equal(fromNodeError(plain), plain);
    const coded = Object.assign(new Error("y"), { code: "ERR_SOMETHING" });
    assert.equal(fromNodeError(coded), coded);
    const thrown = fromNodeError("a string");
    assert.ok(thrown instanceof Error);
    assert.equal(thrown.message, "a string");
  });

  test("the package's own errors: codes, classes and what their messages say", () => {
    const detached = detachedError("flush");
    assert.equal(detached.code, ErrorCodes.DETACHED);
    assert.match(
      detached.message,
      /^Cannot call flush\(\): the MMap's memory was moved .*; only unmap\(\) works on it now$/,
    );
    assert.match(String(detached.stack), /^Error \[ERR_MMAP_DETACHED\]: /);
    const lost = lostChangesError();
    assert.equal(lost.code, ErrorCodes.DETACHED);
    assert.match(lost.message, /^unmap\(\) could not write back the changes made since the last flush\(\)/);
    const fault = faultError(8192);
    assert.equal(fault.code, ErrorCodes.FAULT);
    assert.equal(fault.fileOffset, 8192);
    assert.match(fault.message, /could not back the page at file offset 8192/);
    const busy = busyError("munmap");
    assert.ok(busy instanceof MmapSystemError);
    assert.equal(busy.code, "EBUSY");
    assert.equal(busy.syscall, "munmap");
    assert.match(busy.message, /^EBUSY: resource busy or locked, munmap: the map's buffer is in use/);
    const backend = backendError("no backend");
    assert.equal(backend.code, ErrorCodes.BACKEND);
    assert.equal(backend.message, "no backend");
  });
});

describe("limits", () => {
  test("checkMapCount refuses with ENOMEM at the limit of live maps and names the way out", () => {
    const limit = mapLimit();
    assert.ok(limit > 0);
    checkMapCount(0);
    if (Number.isFinite(limit)) {
      checkMapCount(limit - 1);
      const error = (() => {
        try {
          checkMapCount(limit);
        } catch (e) {
          return e as MmapSystemError;
        }
        throw new Error("checkMapCount(limit) did not throw");
      })();
      assert.ok(error instanceof MmapSystemError);
      assert.equal(error.code, "ENOMEM");
      assert.equal(error.syscall, "mmap");
      assert.ok(error.message.includes(`${limit} maps are live`));
      assert.ok(error.message.includes(MAX_MAPS_ENV));
    } else {
      // No limit here (not Linux): any count is allowed.
      checkMapCount(Number.MAX_SAFE_INTEGER);
    }
  });
});

describe("environment", () => {
  const g = globalThis as { Deno?: unknown };

  /** Runs `body` with a Deno-like global whose env permission is `state` (or whose query throws). */
  function asDeno<T>(querySync: (d: { name: string; variable: string }) => { state: string }, body: () => T): T {
    const had = "Deno" in g;
    const before = g.Deno;
    g.Deno = { permissions: { querySync } };
    try {
      return body();
    } finally {
      if (had) g.Deno = before;
      else delete g.Deno;
    }
  }

  const name = "PORTABLE_MMAP_UNIT_READ_ENV";

  test("readEnv reads a variable that is set, and undefined for one that is not", () => {
    process.env[name] = "yes";
    try {
      assert.equal(readEnv(name), "yes");
    } finally {
      delete process.env[name];
    }
    assert.equal(readEnv(name), undefined);
  });

  testUnless(
    "Deno" in g
      ? "Deno's own global cannot be replaced; the conformance suite runs Deno without --allow-env in a child"
      : undefined,
    "readEnv reads a variable only where Deno has granted access to it, and never throws",
    () => {
      process.env[name] = "yes";
      try {
        const asked: string[] = [];
        const granted = asDeno(
          (d) => {
            asked.push(`${d.name}:${d.variable}`);
            return { state: "granted" };
          },
          () => readEnv(name),
        );
        assert.equal(granted, "yes");
        assert.deepEqual(asked, [`env:${name}`]);
        assert.equal(
          asDeno(
            () => ({ state: "prompt" }),
            () => readEnv(name),
          ),
          undefined,
          "not granted: unset, and no prompt",
        );
        assert.equal(
          asDeno(
            () => {
              throw new Error("NotCapable");
            },
            () => readEnv(name),
          ),
          undefined,
        );
      } finally {
        delete process.env[name];
      }
    },
  );
});
