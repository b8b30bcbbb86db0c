/**
 * The koffi backend's own bookkeeping: unmap with and without a detach, with
 * a moved buffer, and release. The conformance suite covers the rest through
 * the API (which also makes unmap wait for pending flushes).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe } from "vitest";
import type { Backend } from "../../src/backends/contract.js";
import { createBackend, load } from "../../src/backends/koffi/index.js";
import { posixSystem } from "../../src/backends/koffi/posix.js";
import type { Koffi, System } from "../../src/backends/koffi/types.js";
import { windowsSystem } from "../../src/backends/koffi/windows.js";
import { testUnless } from "../unless.js";
import { koffiDetach, loadKoffi, mapShared, tempFiles } from "./fixtures.js";

const { koffi, reason } = loadKoffi();
const windows = process.platform === "win32";
const posixReason = reason ?? (windows ? "Windows cannot replace a view in place" : undefined);
const systemLayer = (): System => (windows ? windowsSystem : posixSystem)(koffi as Koffi);
const linux = process.platform === "linux";

/** A system layer that logs release and zero. */
function spy() {
  const sys = systemLayer();
  const log: string[] = [];
  const spied: System = {
    ...sys,
    release(h) {
      log.push("release");
      sys.release(h);
    },
    // Only where the layer has one (not Windows): the backend's capabilities follow whether it does.
    zero: sys.zero
      ? (h) => {
          log.push("zero");
          sys.zero?.(h);
        }
      : undefined,
  };
  return { sys: spied, log };
}

const { detachByTransfer, detachHere } = koffiDetach();

const { fileWith: tempFile } = tempFiles("koffi-backend-", 0x41);

/** Whether /proc/self/maps lists `file` (Linux). */
const mapped = (file: string): boolean => fs.readFileSync("/proc/self/maps", "utf8").includes(file);

describe("koffi backend", () => {
  testUnless(reason, "load() returns the koffi backend with real capabilities", () => {
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

  testUnless(posixReason, "unmap without a detach leaves zero pages at the same address, never the file", () => {
    const { sys, log } = spy();
    const backend = createBackend(koffi as Koffi, sys, undefined);
    assert.equal(backend.capabilities.detachesOnUnmap, false);
    const file = tempFile(8192);
    const m = mapShared(backend, file, 8192);
    const bytes = new Uint8Array(m.buffer);
    bytes[0] = 0x42;
    assert.equal(backend.counters?.[1], 1, "one live mapping");
    assert.equal(backend.unmap(m.handle, m.buffer, false), true, "released after the buffer is collected");
    assert.equal(backend.counters?.[1], 0, "no longer live");
    assert.deepEqual(log, ["zero"]);
    assert.equal(bytes.length, 8192);
    assert.ok(
      bytes.every((b) => b === 0),
      "views read zeros",
    );
    bytes[1] = 1; // and writes land in the zero pages, not in the file
    assert.equal(fs.readFileSync(file)[0], 0x42);
    assert.equal(fs.readFileSync(file)[1], 0x41);
    if (linux) assert.equal(mapped(file), false, "the file is no longer mapped");
    backend.release?.(m.handle);
    backend.release?.(m.handle);
    assert.deepEqual(log, ["zero", "release"], "released once");
  });

  testUnless(
    reason ?? (detachHere ? undefined : "neither ArrayBuffer.prototype.transfer nor the native addon's detach is here"),
    "unmap with a detach zeroes the pages, detaches at once and keeps the range until release",
    () => {
      const { sys, log } = spy();
      const backend = createBackend(koffi as Koffi, sys, detachHere);
      assert.equal(backend.capabilities.detachesOnUnmap, true);
      const file = tempFile(4096);
      const m = mapShared(backend, file, 4096);
      const bytes = new Uint8Array(m.buffer);
      bytes[0] = 0x44;
      assert.equal(backend.unmap(m.handle, m.buffer, false), true);
      assert.equal(bytes.length, 0);
      assert.equal(m.buffer.byteLength, 0);
      assert.deepEqual(log, windows ? [] : ["zero"]);
      assert.equal(fs.readFileSync(file)[0], 0x44);
      if (linux) assert.equal(mapped(file), false);
      backend.release?.(m.handle);
      assert.deepEqual(log, windows ? ["release"] : ["zero", "release"]);
    },
  );

  testUnless(
    posixReason ??
      (detachByTransfer ? undefined : "moving a buffer's memory needs ArrayBuffer.prototype.transfer (Node >= 21)"),
    "a moved buffer reads zeros after unmap, and its range is kept for good",
    () => {
      const { sys, log } = spy();
      const backend = createBackend(koffi as Koffi, sys, detachHere);
      const file = tempFile(4096);
      const m = mapShared(backend, file, 4096);
      const moved = new Uint8Array((m.buffer as unknown as { transfer(): ArrayBuffer }).transfer());
      assert.equal(moved[0], 0x41, "the memory moved with its contents");
      assert.equal(backend.unmap(m.handle, m.buffer, true), false, "no release: the moved buffer may live on");
      assert.deepEqual(log, ["zero"]);
      assert.equal(moved.length, 4096);
      assert.ok(
        moved.every((b) => b === 0),
        "the moved view reads zeros",
      );
      moved[0] = 9;
      assert.equal(fs.readFileSync(file)[0], 0x41, "its writes go nowhere");
    },
  );

  testUnless(reason, "flushAsync reports the worker thread's error as the shared error", async () => {
    const backend = createBackend(koffi as Koffi, systemLayer(), undefined);
    const file = tempFile(4096);
    const m = mapShared(backend, file, 4096);
    // A range past the mapping fails on the worker thread: msync ENOMEM, FlushViewOfFile ERROR_INVALID_ADDRESS.
    const expected = windows ? { code: "EINVAL", syscall: "FlushViewOfFile" } : { code: "ENOMEM", syscall: "msync" };
    await assert.rejects(backend.flushAsync(m.handle, 1 << 30, 4096), expected);
    backend.release?.(m.handle);
    assert.equal(backend.counters?.[1], 0);
  });
});
