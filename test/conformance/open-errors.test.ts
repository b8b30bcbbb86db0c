/**
 * `mapFile` names its file in its system errors: those from opening the file
 * are the package's own `MmapSystemError` (as from mapping it), with `code`,
 * `errno`, `syscall` "open" and `path`, and those from mapping it carry the
 * `path` too, named in the message after the call as in Node's `fs` errors.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { MmapSystemError, map, mapFile, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { pattern, tempFile, throwsCode, withFd } from "./helpers.js";

/** What the runtime's own `fs.openSync` throws for the same open: the code and errno to expect. */
function runtimeOpenError(file: string, flags: string): { code: string; errno?: number } {
  try {
    fs.closeSync(fs.openSync(file, flags));
  } catch (error) {
    return error as { code: string; errno?: number };
  }
  throw new Error(`opening ${file} with "${flags}" did not fail`);
}

/** Asserts the package's shape of a failed open of `file`, as the runtime reports the same failure. */
function assertOpenError(error: unknown, file: string, flags: string, code: string): void {
  const expected = runtimeOpenError(file, flags);
  assert.equal(expected.code, code, `the runtime's own open of ${file} fails with ${expected.code}`);
  assert.ok(error instanceof MmapSystemError, `not an MmapSystemError: ${error}`);
  assert.equal(error.code, code);
  assert.equal(typeof error.errno, "number");
  // Node and Bun give a negative number; where the runtime gives none (Deno), it comes from the code.
  if (typeof expected.errno === "number") assert.equal(error.errno, expected.errno);
  else assert.ok(error.errno < 0, `errno ${error.errno}`);
  assert.equal(error.syscall, "open");
  assert.equal(error.path, file);
  assert.ok(error.message.startsWith(`${code}: `), error.message);
  assert.ok(error.message.endsWith(`, open '${file}'`), error.message);
}

/** Asserts `fn` throws the package's system error with `code`, and returns it. */
function throwsSystem(fn: () => unknown, code: string): MmapSystemError {
  const error = throwsCode(fn, Error, code);
  assert.ok(error instanceof MmapSystemError, `not an MmapSystemError: ${error}`);
  return error;
}

/** A new, empty directory in the suite's temporary folder. */
function tempDir(): string {
  const dir = `${tempFile()}.d`;
  fs.mkdirSync(dir);
  return dir;
}

describe("mapFile: errors name the file", () => {
  test("a missing file is ENOENT from open, an MmapSystemError with errno, syscall and path", () => {
    const missing = path.join(tempDir(), "missing.bin");
    const error = throwsSystem(() => mapFile(missing), "ENOENT");
    assertOpenError(error, missing, "r", "ENOENT");
    // RDWR opens it "r+", and with grow creates it: only a missing folder fails then.
    assertOpenError(
      throwsSystem(() => mapFile(missing, { prot: RDWR }), "ENOENT"),
      missing,
      "r+",
      "ENOENT",
    );
    const inMissingDir = path.join(missing, "child.bin");
    assertOpenError(
      throwsSystem(() => mapFile(inMissingDir, { prot: RDWR, length: 10, grow: true }), "ENOENT"),
      inMissingDir,
      "r+",
      "ENOENT",
    );
    assert.equal(fs.existsSync(inMissingDir), false);
  });

  test("a file: URL or a Buffer path is named as the file path it stands for", () => {
    const missing = path.join(tempDir(), "missing.bin");
    for (const given of [pathToFileURL(missing), Buffer.from(missing)]) {
      const error = throwsSystem(() => mapFile(given), "ENOENT");
      assertOpenError(error, missing, "r", "ENOENT");
    }
  });

  test("a directory opened for RDWR: EISDIR from open, or where the system opens it (Wine), the mapping's error with the path", () => {
    const dir = tempDir();
    let opened: number | undefined;
    try {
      opened = fs.openSync(dir, "r+");
    } catch {
      // the usual case: the runtime's own open refuses it too
    }
    if (opened === undefined) {
      const error = throwsSystem(() => mapFile(dir, { prot: RDWR }), "EISDIR");
      assertOpenError(error, dir, "r+", "EISDIR");
      return;
    }
    fs.closeSync(opened);
    let thrown: unknown;
    try {
      mapFile(dir, { prot: RDWR }).unmap();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof MmapSystemError, `not an MmapSystemError: ${thrown}`);
    assert.notEqual(thrown.syscall, "open");
    assert.equal(thrown.path, dir);
    assert.ok(thrown.message.endsWith(` '${dir}'`), thrown.message);
  });

  test("a file the process may not read is EACCES from open", (context) => {
    if (process.platform === "win32") context.skip("Windows has no mode bits that deny reading a file");
    if (process.getuid?.() === 0) context.skip("running as root, whom mode bits do not deny");
    const file = tempFile(pattern(100));
    fs.chmodSync(file, 0o000);
    try {
      const error = throwsSystem(() => mapFile(file), "EACCES");
      assertOpenError(error, file, "r", "EACCES");
    } finally {
      fs.chmodSync(file, 0o600);
    }
  });

  test("a failure of the mapping itself names the file: a directory is ENODEV from mmap", () => {
    const dir = tempDir();
    // The same failure through a descriptor: the package's own error, which has no path to give.
    const own = withFd(dir, "r", (fd) => throwsSystem(() => map(fd), "ENODEV"));
    assert.equal(own.path, undefined);
    assert.match(own.message, /^ENODEV: .+, mmap$/);
    const error = throwsSystem(() => mapFile(dir, { prot: RDONLY }), "ENODEV");
    assert.equal(error.errno, own.errno);
    assert.ok(error.errno < 0, `errno ${error.errno}`);
    assert.equal(error.syscall, "mmap");
    assert.equal(error.path, dir);
    assert.equal(error.message, `${own.message} '${dir}'`);
    // The stack trace's first line shows the message with the path, once.
    const stack = error.stack ?? "";
    assert.ok(stack.includes(error.message), stack);
    assert.equal(stack.split(`'${dir}'`).length, 2, stack);
  });

  test("an argument error comes before the file is opened, and has no path", () => {
    const missing = path.join(tempDir(), "missing.bin");
    const error = throwsCode(() => mapFile(missing, { prot: 3 as never }), TypeError, "ERR_INVALID_ARG_VALUE");
    assert.equal((error as { path?: string }).path, undefined);
  });
});
