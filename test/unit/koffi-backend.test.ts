/**
 * The koffi backend's own bookkeeping: unmap with and without a detach,
 * release after collection, and both waiting for flushes still running on a
 * worker thread. The conformance suite covers the rest through the API.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Backend, MapRequest } from "../../src/backends/contract.js";
import { createBackend, type Handle, type Koffi, load, type System } from "../../src/backends/koffi/index.js";
import { posixSystem } from "../../src/backends/koffi/posix.js";
import { windowsSystem } from "../../src/backends/koffi/windows.js";
import { loadDetach } from "../../src/backends/native/index.js";
import { describe, test } from "../harness.js";

let koffi: Koffi | undefined;
let reason: string | undefined;
try {
  koffi = createRequire(import.meta.url)("koffi") as Koffi;
} catch (error) {
  reason = `koffi is not loadable here: ${(error as Error).message}`;
}
const windows = process.platform === "win32";
const posixReason = reason ?? (windows ? "Windows cannot replace a view in place" : undefined);
const systemLayer = (): System => (windows ? windowsSystem : posixSystem)(koffi as Koffi);
const linux = process.platform === "linux";

/** A system layer that logs release/zero and holds back flushAsync completions until `finish()`. */
function spy() {
  const sys = systemLayer();
  const log: string[] = [];
  const held: (() => void)[] = [];
  const spied: System = {
    ...sys,
    release(h) {
      log.push("release");
      sys.release(h);
    },
    zero(h) {
      log.push("zero");
      sys.zero?.(h);
    },
    flushAsync(h, offset, length, done) {
      sys.flushAsync(h, offset, length, (error) => held.push(() => done(error)));
    },
  };
  const settled = async (): Promise<void> => {
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  const finish = (): void => {
    for (const f of held.splice(0)) f();
  };
  return { sys: spied, log, settled, finish };
}

const detachByTransfer = (ArrayBuffer.prototype as { transfer?: (n: number) => ArrayBuffer }).transfer
  ? (buffer: ArrayBuffer) => void (buffer as unknown as { transfer(n: number): ArrayBuffer }).transfer(0)
  : undefined;
/** A way to detach koffi's buffers here: transfer(0), else the native addon's helper (Node 20). */
const detachHere = detachByTransfer ?? loadDetach();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koffi-backend-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

function tempFile(bytes: number): string {
  const file = path.join(dir, `f${files++}.bin`);
  fs.writeFileSync(file, Buffer.alloc(bytes, 0x41));
  return file;
}

function mapShared(backend: Backend<Handle>, file: string, length: number) {
  const fd = fs.openSync(file, "r+");
  try {
    const request: MapRequest = { fd, offset: 0, length, shared: true, writable: true, exec: false, anon: false };
    return backend.map(request);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether /proc/self/maps lists `file` (Linux). */
const mapped = (file: string): boolean => fs.readFileSync("/proc/self/maps", "utf8").includes(file);

/** A full garbage collection: `gc` where exposed, `Bun.gc`, else V8's flag turned on at run time. */
function collect(): void {
  const bun = (globalThis as { Bun?: { gc(full: boolean): void } }).Bun;
  if (bun) bun.gc(true);
  else if (typeof globalThis.gc === "function") globalThis.gc();
  else {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  }
}

describe("koffi backend", () => {
  test.unless(reason, "load() returns the koffi backend with real capabilities", () => {
    let backend: Backend;
    try {
      backend = load();
    } catch (error) {
      // Documented: Windows without a way to detach refuses, so that selection moves on.
      assert.ok(windows && !detachByTransfer, String(error));
      assert.match((error as Error).message, /cannot detach koffi's buffers/);
      return;
    }
    assert.equal(backend.name, "koffi");
    assert.equal(backend.capabilities.sharesPageCache, true);
    assert.equal(backend.capabilities.needsDescriptor, false);
    assert.equal(backend.release !== undefined, true, "koffi's views have no finalizer: the backend releases");
    assert.equal(load(), backend, "loaded once");
  });

  test.unless(posixReason, "unmap without a detach leaves zero pages at the same address, never the file", () => {
    const { sys, log } = spy();
    const backend = createBackend(koffi as Koffi, sys, undefined);
    assert.equal(backend.capabilities.detachesOnUnmap, false);
    const file = tempFile(8192);
    const m = mapShared(backend, file, 8192);
    const bytes = new Uint8Array(m.buffer);
    bytes[0] = 0x42;
    backend.unmap(m.handle, m.buffer);
    assert.deepEqual(log, ["zero"]);
    assert.equal(bytes.length, 8192);
    assert.ok(
      bytes.every((b) => b === 0),
      "views read zeros",
    );
    bytes[1] = 1; // and writes land in the placeholder, not in the file
    assert.equal(fs.readFileSync(file)[0], 0x42);
    assert.equal(fs.readFileSync(file)[1], 0x41);
    if (linux) assert.equal(mapped(file), false, "the file is no longer mapped");
  });

  test.unless(posixReason, "the zero pages are given back once the buffer is collected", async () => {
    const { sys, log } = spy();
    const backend = createBackend(koffi as Koffi, sys, undefined);
    (() => {
      const m = backend.map({
        fd: -1,
        offset: 0,
        length: 4096,
        shared: false,
        writable: true,
        exec: false,
        anon: true,
      });
      backend.unmap(m.handle, m.buffer);
    })();
    for (let i = 0; i < 20 && !log.includes("release"); i++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(log, ["zero", "release"]);
  });

  test.unless(
    posixReason,
    "unmap without a detach waits for a pending flushAsync before replacing the pages",
    async () => {
      const { sys, log, settled, finish } = spy();
      const backend = createBackend(koffi as Koffi, sys, undefined);
      const file = tempFile(4096);
      const m = mapShared(backend, file, 4096);
      const bytes = new Uint8Array(m.buffer);
      bytes[0] = 0x43;
      const flushed = backend.flushAsync(m.handle, 0, 4096);
      await settled();
      backend.unmap(m.handle, m.buffer);
      assert.deepEqual(log, [], "nothing happens while msync runs");
      assert.equal(bytes[0], 0x43);
      finish();
      await flushed;
      assert.deepEqual(log, ["zero"]);
      assert.equal(bytes[0], 0);
      assert.equal(fs.readFileSync(file)[0], 0x43);
    },
  );

  test.unless(
    reason ?? (detachHere ? undefined : "neither ArrayBuffer.prototype.transfer nor the native addon's detach is here"),
    "unmap with a detach detaches at once and munmaps after a pending flushAsync",
    async () => {
      const { sys, log, settled, finish } = spy();
      const backend = createBackend(koffi as Koffi, sys, detachHere);
      assert.equal(backend.capabilities.detachesOnUnmap, true);
      const file = tempFile(4096);
      const m = mapShared(backend, file, 4096);
      const bytes = new Uint8Array(m.buffer);
      bytes[0] = 0x44;
      const flushed = backend.flushAsync(m.handle, 0, 4096);
      await settled();
      backend.unmap(m.handle, m.buffer);
      assert.equal(bytes.length, 0);
      assert.equal(m.buffer.byteLength, 0);
      assert.deepEqual(log, []);
      finish();
      await flushed;
      assert.deepEqual(log, ["release"]);
      assert.equal(fs.readFileSync(file)[0], 0x44);
      if (linux) assert.equal(mapped(file), false);
    },
  );

  test.unless(reason, "release after collection waits for a pending flushAsync too", async () => {
    const { sys, log, settled, finish } = spy();
    const backend = createBackend(koffi as Koffi, sys, undefined);
    const file = tempFile(4096);
    const m = mapShared(backend, file, 4096);
    const flushed = backend.flushAsync(m.handle, 0, 4096);
    await settled();
    backend.release?.(m.handle);
    assert.deepEqual(log, []);
    finish();
    await flushed;
    assert.deepEqual(log, ["release"]);
    backend.release?.(m.handle);
    assert.deepEqual(log, ["release"], "released once");
  });

  test.unless(reason, "flushAsync reports the worker thread's error as the shared error", async () => {
    const backend = createBackend(koffi as Koffi, systemLayer(), undefined);
    const file = tempFile(4096);
    const m = mapShared(backend, file, 4096);
    // A range past the mapping fails on the worker thread: msync ENOMEM, FlushViewOfFile ERROR_INVALID_ADDRESS.
    const expected = windows ? { code: "EINVAL", syscall: "FlushViewOfFile" } : { code: "ENOMEM", syscall: "msync" };
    await assert.rejects(backend.flushAsync(m.handle, 1 << 30, 4096), expected);
    backend.release?.(m.handle);
  });
});
