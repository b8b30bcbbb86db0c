/**
 * The koffi backend where things go wrong or end: a view koffi cannot make,
 * koffi's queue of asynchronous calls full, a buffer the runtime refuses to
 * detach, a moved buffer abandoned, and what a worker thread gives back when
 * it ends (the backend's `atExit` hook, called here instead of at a worker's
 * exit). Plus the constant tables of the other POSIX systems and a C library
 * that cannot be loaded.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "vitest";
import type { Backend } from "../../src/backends/contract.js";
import { createBackend } from "../../src/backends/koffi/index.js";
import { bindPosix, posixSystem, posixTable } from "../../src/backends/koffi/posix.js";
import type { Handle, Koffi, System } from "../../src/backends/koffi/types.js";
import { testUnless } from "../unless.js";
import { koffiDetach, loadKoffi, mapShared, tempFiles } from "./fixtures.js";

const { koffi, reason } = loadKoffi();
const windows = process.platform === "win32";
const posixReason = reason ?? (windows ? "the POSIX system layer: not on Windows" : undefined);

const { detachHere } = koffiDetach();
const detachReason =
  posixReason ??
  (detachHere ? undefined : "neither ArrayBuffer.prototype.transfer nor the native addon's detach is here");

const { fileWith: tempFile } = tempFiles("koffi-edges-", 0x41);

/** The POSIX system layer, logging release, zero and flush; `flushAsync` as given. */
function spy(flushAsync?: System["flushAsync"]) {
  const sys = posixSystem(koffi as Koffi);
  const log: string[] = [];
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
    flush(h, offset, length) {
      log.push("flush");
      sys.flush(h, offset, length);
    },
    flushAsync: flushAsync ?? sys.flushAsync,
  };
  return { sys: spied, log };
}

/** A backend whose worker-exit function is handed to the test rather than registered. */
function withExit(sys: System, detach: ((buffer: ArrayBuffer) => void) | undefined) {
  let releaseAll: ((drained: boolean) => void) | undefined;
  const backend = createBackend(koffi as Koffi, sys, detach, (f) => {
    releaseAll = f;
  });
  assert.ok(releaseAll, "the backend hands over its exit function");
  return { backend, exit: releaseAll as (drained: boolean) => void };
}

const live = (backend: Backend<Handle>): number => backend.counters?.[1] as number;

describe("koffi backend, edges", () => {
  testUnless(posixReason, "a view koffi cannot make: the range is given back and map() is ENOMEM", () => {
    const { sys, log } = spy();
    const failing = Object.create(koffi as object, {
      view: {
        value: () => {
          throw new Error("no external buffer");
        },
      },
    }) as Koffi;
    const backend = createBackend(failing, sys, undefined);
    const before = live(backend);
    assert.throws(() => mapShared(backend, tempFile(4096), 4096), { code: "ENOMEM", syscall: "mmap" });
    assert.deepEqual(log, ["release"]);
    assert.equal(live(backend), before, "nothing counted live");
  });

  testUnless(
    posixReason,
    "koffi's queue full: flushAsync flushes here instead and reports that flush's error",
    async () => {
      const full = (): void => {
        throw new Error("too many asynchronous calls");
      };
      const { sys, log } = spy(full);
      const backend = createBackend(koffi as Koffi, sys, undefined);
      const m = mapShared(backend, tempFile(4096), 4096);
      await backend.flushAsync(m.handle, 0, 4096);
      assert.deepEqual(log, ["flush"]);
      await assert.rejects(backend.flushAsync(m.handle, 1 << 30, 4096), { code: "ENOMEM", syscall: "msync" });
      backend.release?.(m.handle);
    },
  );

  testUnless(
    posixReason,
    "where koffi's asynchronous calls are unsafe (Bun's workers): flushAsync never queues one, flushes here, and says so",
    async () => {
      const calls: string[] = [];
      const queued: System["flushAsync"] = (_h, _offset, _length, done) => {
        calls.push("queued");
        done(undefined);
      };
      const { sys, log } = spy(queued);
      const backend = createBackend(koffi as Koffi, sys, undefined, () => {}, false);
      assert.equal(backend.capabilities.flushesOffThread, false);
      const m = mapShared(backend, tempFile(4096), 4096);
      await backend.flushAsync(m.handle, 0, 4096);
      assert.deepEqual(log, ["flush"]);
      await assert.rejects(backend.flushAsync(m.handle, 1 << 30, 4096), { code: "ENOMEM", syscall: "msync" });
      assert.deepEqual(calls, [], "no asynchronous call queued");
      backend.release?.(m.handle);
      assert.equal(createBackend(koffi as Koffi, sys, undefined, () => {}, true).capabilities.flushesOffThread, true);
    },
  );

  // Bun refuses to detach a buffer native code is working on: by throwing, or by
  // a transfer(0) that returns and leaves the buffer attached.
  for (const [how, refuse] of [
    [
      "a buffer the runtime refuses to detach (Bun pins it)",
      (): void => {
        throw new TypeError("Cannot transfer a pinned ArrayBuffer");
      },
    ],
    ["a detach that returns but leaves the buffer attached (Bun's transfer() of a pinned buffer)", () => undefined],
  ] as const) {
    testUnless(posixReason, `${how}: unmap() is EBUSY and changes nothing`, () => {
      const { sys, log } = spy();
      const backend = createBackend(koffi as Koffi, sys, refuse);
      const before = live(backend);
      const m = mapShared(backend, tempFile(4096), 4096);
      assert.throws(() => backend.unmap(m.handle, m.buffer, false), {
        code: "EBUSY",
        syscall: "ArrayBuffer.prototype.transfer",
      });
      assert.equal(m.buffer.byteLength, 4096, "still mapped");
      assert.equal(new Uint8Array(m.buffer)[0], 0x41);
      assert.equal(live(backend), before + 1, "still live");
      assert.deepEqual(log, [], "not zeroed");
      backend.release?.(m.handle);
      assert.equal(live(backend), before);
    });
  }

  testUnless(posixReason, "abandon: no longer live, and the range is never given back", () => {
    const { sys, log } = spy();
    const backend = createBackend(koffi as Koffi, sys, undefined);
    const before = live(backend);
    const m = mapShared(backend, tempFile(4096), 4096);
    assert.equal(live(backend), before + 1);
    backend.abandon?.(m.handle);
    assert.equal(live(backend), before);
    assert.deepEqual(log, [], "neither zeroed nor released: a moved buffer may still use it");
  });

  testUnless(
    detachReason,
    "a worker's natural end: reachable maps are detached and given back, unmapped ones too",
    () => {
      const { sys, log } = spy();
      const { backend, exit } = withExit(sys, detachHere);
      const before = live(backend);
      const kept = mapShared(backend, tempFile(4096), 4096);
      const unmapped = mapShared(backend, tempFile(4096), 4096);
      assert.equal(backend.unmap(unmapped.handle, unmapped.buffer, false), true);
      assert.deepEqual(log, ["zero"]);
      exit(true);
      assert.equal(kept.buffer.byteLength, 0, "detached, so JavaScript still running reads length 0");
      assert.deepEqual(log, ["zero", "release", "release"], "both given back");
      assert.equal(live(backend), before);
      backend.release?.(kept.handle);
      assert.deepEqual(log, ["zero", "release", "release"], "given back once");
    },
  );

  testUnless(
    detachReason,
    "process.exit() in a worker: reachable maps are detached and become zero pages, kept",
    () => {
      const { sys, log } = spy();
      const { backend, exit } = withExit(sys, detachHere);
      const before = live(backend);
      const file = tempFile(4096);
      const m = mapShared(backend, file, 4096);
      exit(false);
      assert.equal(m.buffer.byteLength, 0);
      assert.deepEqual(log, ["zero"], "the thread pool may still use the memory: zero pages, not given back");
      assert.equal(live(backend), before);
      assert.equal(fs.readFileSync(file)[0], 0x41);
    },
  );

  testUnless(detachReason, "a worker's end: memory that moved to another buffer keeps its range for good", () => {
    const { sys, log } = spy();
    const { backend, exit } = withExit(sys, detachHere);
    const before = live(backend);
    const m = mapShared(backend, tempFile(4096), 4096);
    (detachHere as (buffer: ArrayBuffer) => void)(m.buffer); // as a transfer elsewhere leaves it
    exit(true);
    assert.deepEqual(log, [], "neither zeroed nor given back");
    assert.equal(live(backend), before, "no longer live");
  });

  testUnless(detachReason, "a worker's end: a buffer pinned by native code keeps its range as zero pages", () => {
    const { sys, log } = spy();
    const detach = (): void => {
      throw new TypeError("pinned");
    };
    const { backend, exit } = withExit(sys, detach);
    const m = mapShared(backend, tempFile(4096), 4096);
    exit(true);
    assert.equal(m.buffer.byteLength, 4096, "could not be detached");
    assert.deepEqual(log, ["zero"], "reachable: zero pages, not given back");
    assert.ok(
      new Uint8Array(m.buffer).every((b) => b === 0),
      "reads zeros",
    );
  });

  testUnless(
    detachReason,
    "a worker's end: a detach that returns but leaves the buffer attached (Bun) keeps the range too",
    () => {
      const { sys, log } = spy();
      const { backend, exit } = withExit(sys, () => undefined);
      const m = mapShared(backend, tempFile(4096), 4096);
      exit(true);
      assert.equal(m.buffer.byteLength, 4096, "still attached");
      assert.deepEqual(log, ["zero"], "reachable: zero pages, not given back (the pinned buffer still points there)");
    },
  );
});

describe("koffi's POSIX tables", () => {
  test("macOS, FreeBSD and Android have tables; other systems have none", () => {
    assert.equal(posixTable("darwin", "arm64").MAP_ANON, 0x1000);
    assert.equal(posixTable("freebsd", "x64").MAP_ANON, 0x1000);
    assert.deepEqual(posixTable("freebsd", "x64").libraries, ["libc.so.7", null]);
    assert.deepEqual(posixTable("android", "arm64").libraries, ["libc.so"]);
    assert.equal(posixTable("android", "arm64").MAP_ANON, posixTable("linux", "arm64").MAP_ANON);
    assert.throws(() => posixTable("sunos", "x64"), /no table of mmap constants for sunos/);
  });

  testUnless(posixReason, "a C library that cannot be loaded: a plain Error naming every one tried", () => {
    const table = { ...posixTable(), libraries: ["/nonexistent/libc-a.so", "/nonexistent/libc-b.so"] };
    assert.throws(
      () => bindPosix(koffi as Koffi, table),
      (error: Error) =>
        /^the C library could not be loaded \(\/nonexistent\/libc-a\.so: .*; \/nonexistent\/libc-b\.so: .*\)$/.test(
          error.message,
        ),
    );
  });
});
