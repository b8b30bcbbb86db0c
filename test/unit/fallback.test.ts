/**
 * The fallback backend's internals that the conformance suite cannot reach
 * through the API: failed allocations, I/O of 2 GiB and more in one call,
 * and how it tells a descriptor in append mode.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, test } from "vitest";
import { openOwnDescriptor } from "../../src/backends/fallback/descriptor.js";
import { createBackend } from "../../src/backends/fallback/index.js";
import { readAt, writeAt } from "../../src/backends/fallback/io.js";
import { placementOf, writeFirstByte } from "../../src/backends/fallback/placement.js";
import { testUnless } from "../unless.js";
import { sharedRequest } from "./fixtures.js";

const linux = process.platform === "linux";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-unit-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function fileWith(contents: Uint8Array): string {
  const file = path.join(dir, `f${counter++}.bin`);
  fs.writeFileSync(file, contents);
  return file;
}

const openDescriptors = (): number => fs.readdirSync("/proc/self/fd").length;

describe("fallback memory", () => {
  testUnless(
    linux ? undefined : "counts descriptors in /proc/self/fd, which only Linux has",
    "a failed allocation of the map or of its copy is ENOMEM from mmap and leaves no descriptor open",
    () => {
      const file = fileWith(Buffer.alloc(8192, 1));
      const fd = fs.openSync(file, "r+");
      try {
        const request = sharedRequest(fd, 8192);
        const before = openDescriptors();
        // The map works, and holds a descriptor of its own until unmap: the count can tell.
        const backend = createBackend();
        const mapping = backend.map(request);
        assert.equal(openDescriptors(), before + 1);
        backend.unmap(mapping.handle, mapping.buffer, false);
        assert.equal(openDescriptors(), before);
        for (const failing of [1, 2]) {
          let calls = 0;
          const failingBackend = createBackend((length) => {
            if (++calls === failing) throw new RangeError("Array buffer allocation failed");
            return new ArrayBuffer(length);
          });
          assert.throws(() => failingBackend.map(request), {
            code: "ENOMEM",
            syscall: "mmap",
            errno: -os.constants.errno.ENOMEM,
          });
          assert.equal(calls, failing, "it stops at the failing allocation");
          assert.equal(openDescriptors(), before, `allocation ${failing} failing leaks no descriptor`);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
  );
});

describe("fallback unmap", () => {
  test("a transfer() that returns but leaves the buffer attached (Bun, a pinned buffer): EBUSY, the map as it was", () => {
    const file = fileWith(Buffer.alloc(4096, 1));
    const fd = fs.openSync(file, "r+");
    try {
      const backend = createBackend();
      const mapping = backend.map({
        fd,
        offset: 0,
        length: 4096,
        shared: true,
        writable: true,
        exec: false,
        anon: false,
        populate: false,
      });
      const buffer = mapping.buffer;
      // What Bun's transfer() does with a buffer native code is working on: a copy, this one kept.
      Object.defineProperty(buffer, "transfer", { value: () => buffer.slice(0), configurable: true });
      new Uint8Array(buffer)[0] = 7;
      assert.throws(() => backend.unmap(mapping.handle, buffer, false), {
        code: "EBUSY",
        syscall: "ArrayBuffer.prototype.transfer",
      });
      assert.equal(buffer.byteLength, 4096, "still attached");
      assert.equal(fs.readFileSync(file)[0], 7, "its change was written back, as a flush does");
      // Still tracked: a later change is written back by the next unmap.
      new Uint8Array(buffer)[1] = 8;
      delete (buffer as { transfer?: unknown }).transfer;
      backend.unmap(mapping.handle, buffer, false);
      assert.equal(buffer.byteLength, 0);
      assert.deepEqual([...fs.readFileSync(file).subarray(0, 3)], [7, 8, 1]);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe("fallback io", () => {
  const big = 2 ** 31 + 4096; // one call cannot take this length: node:fs wants an int32
  test("writeAt writes 2 GiB and more, in chunks", () => {
    const fd = fs.openSync(os.devNull, "w");
    try {
      // The buffer is never touched (the null device does not read it), so it costs no memory.
      writeAt(fd, new Uint8Array(big), 0);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("readAt reads into 2 GiB and more, in chunks, and stops at the end of the file", () => {
    const fd = fs.openSync(fileWith(Buffer.from("0123456789")), "r");
    try {
      const target = new Uint8Array(big);
      assert.equal(readAt(fd, target, 3), 7);
      assert.equal(Buffer.from(target.subarray(0, 8)).toString("latin1"), "3456789\0");
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe("fallback placement", () => {
  const linuxOnly = linux
    ? undefined
    : "reads /proc/self/fdinfo, and relies on Linux's pwrite appending under O_APPEND";

  testUnless(linuxOnly, "the open flags tell a descriptor in append mode", () => {
    const file = fileWith(Buffer.alloc(16, 0x41));
    const appending = fs.openSync(file, "a+");
    const plain = fs.openSync(file, "r+");
    try {
      assert.equal(placementOf(appending), "append");
      assert.equal(placementOf(plain), "positioned");
      // The backend's own descriptor is a new open of the file, "r+": never in append mode.
      const own = openOwnDescriptor(appending);
      assert.equal(own.fresh, true);
      assert.equal(placementOf(own.fd), "positioned");
      fs.closeSync(own.fd);
    } finally {
      fs.closeSync(appending);
      fs.closeSync(plain);
    }
  });

  testUnless(linuxOnly, "the first byte written tells where writes through a descriptor land", () => {
    const file = fileWith(Buffer.alloc(16, 0x41));
    const appending = fs.openSync(file, "a+");
    const plain = fs.openSync(file, "r+");
    try {
      assert.equal(writeFirstByte(plain, Buffer.from("BC"), 2), "positioned");
      assert.equal(fs.readFileSync(file, "latin1"), "AABAAAAAAAAAAAAA", "only the first byte is written");
      assert.equal(writeFirstByte(appending, Buffer.from("DE"), 3), "append");
      assert.equal(fs.readFileSync(file, "latin1"), "AABAAAAAAAAAAAAAD", "Linux put it at the end");
      // At the end of the file both kinds write to the same place: that tells nothing.
      assert.equal(writeFirstByte(appending, Buffer.from("F"), 17), "unknown");
      assert.equal(writeFirstByte(plain, Buffer.from("G"), 30), "positioned");
      assert.equal(fs.statSync(file).size, 31);
    } finally {
      fs.closeSync(appending);
      fs.closeSync(plain);
    }
  });
});
