/**
 * `resize()` and Windows shared memory against scripted backends: the paths
 * no real backend takes on this machine (an old map that cannot be unmapped,
 * pages moved then put back, a new map whose pages take no writes, a file
 * that cannot be truncated, a Windows section).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "vitest";
import { ANON, EXEC, RDONLY, RDWR } from "../../src/api/constants.js";
import { busyError, systemError } from "../../src/api/errors.js";
import { mapChecked, mapFileWith } from "../../src/api/map.js";
import { openSharedMemoryWith } from "../../src/api/shared.js";
import type { Backend, MapRequest, SharedOpen } from "../../src/backends/contract.js";
import { memoryBackend, realCapabilities, tempFiles } from "./fixtures.js";

const { fileWith } = tempFiles("portable-mmap-unit-resize-", 11);

/** A scripted backend whose `unmap` throws EBUSY while `busy.on` (Bun's pinned buffer), recording `protect` calls. */
function busyBackend(extra: Partial<Backend<number>> = {}, changes = {}) {
  const busy = { on: false };
  const protects: boolean[] = [];
  const { backend } = memoryBackend("native", realCapabilities(changes), () => {}, {
    unmap: () => {
      if (busy.on) throw busyError("napi_detach_arraybuffer");
      return false;
    },
    protect: (_h, _o, _l, writable) => void protects.push(writable),
    ...extra,
  });
  return { backend, busy, protects };
}

describe("resize() when the old map cannot be unmapped", () => {
  test("a file map: EBUSY, the old map as it was (descriptor too), the file put back to its size", () => {
    const { backend, busy } = busyBackend();
    const file = fileWith(5000);
    const m = mapFileWith(backend, file, { prot: RDWR, keepOpen: true });
    busy.on = true;
    assert.throws(() => m.resize(20_000), { code: "EBUSY" });
    assert.equal(m.unmapped, false);
    assert.equal(fs.statSync(file).size, 5000, "the grown file is put back");
    assert.equal(m.fileSize(), 5000, "the old map still owns an open descriptor");
    busy.on = false;
    const n = m.resize(20_000);
    assert.equal(n.fileSize(), 20_000);
    n.unmap();
  });

  test("an ANON map whose pages moved: they are put back (through protect, its pages taking no writes)", () => {
    let moves = 0;
    const { backend, busy, protects } = busyBackend({
      move: (_h, length) => {
        moves++;
        return { buffer: new ArrayBuffer(length), handle: 1000 + moves };
      },
    });
    const m = mapChecked(backend, -1, 4096, RDONLY | EXEC, ANON, 0, false, false);
    assert.equal(m.pagesWritable, false);
    new Uint8Array(m.buffer).fill(5); // plain memory in this backend: writable whatever its flag says
    busy.on = true;
    assert.throws(() => m.resize(8192), { code: "EBUSY" });
    assert.equal(moves, 1);
    assert.equal(m.unmapped, false);
    // The scripted move gave fresh zeros: what the old map reads now is what was put back from them.
    assert.equal(m[0], 0);
    assert.deepEqual(protects, [true, false], "made writable for the copy, then read-only again");
    busy.on = false;
    const n = m.resize(8192);
    assert.equal(moves, 2);
    n.unmap();
  });

  test("an ANON map of zeros whose new pages take no writes needs no copy, so no protect", () => {
    const { backend, protects } = busyBackend();
    const m = mapChecked(backend, -1, 4096, RDONLY | EXEC, ANON, 0, false, false);
    const n = m.resize(10_000);
    assert.deepEqual(protects, []);
    assert.ok(n.every((b) => b === 0));
  });

  test("an ANON map copied: a new map whose pages take no writes is made writable for the copy", () => {
    const { backend, protects } = busyBackend();
    const m = mapChecked(backend, -1, 4096, RDONLY | EXEC, ANON, 0, false, false);
    new Uint8Array(m.buffer).fill(7);
    const n = m.resize(10_000);
    assert.equal(n[4095], 7);
    assert.equal(n[4096], 0);
    assert.deepEqual(protects, [true, false]);
    assert.equal(m.unmapped, true);
  });

  test("an ANON map copied: if the copy fails, the new map goes and the old one stays", () => {
    const { backend } = busyBackend({
      protect: () => {
        throw systemError("EACCES", "mprotect");
      },
    });
    const m = mapChecked(backend, -1, 4096, RDONLY | EXEC, ANON, 0, false, false);
    new Uint8Array(m.buffer).fill(3); // bytes to copy: zeros would need no copy
    assert.throws(() => m.resize(8192), { code: "EACCES", syscall: "mprotect" });
    assert.equal(m.unmapped, false);
  });
});

describe("resize() of a locked ANON map", () => {
  /** A scripted backend that moves pages and records lock and unlock calls. */
  function lockingBackend(lockFails: () => boolean) {
    const calls: string[] = [];
    const { busy, backend } = busyBackend({
      move: (_h, length) => ({ buffer: new ArrayBuffer(length), handle: 2000 }),
      lock: () => {
        calls.push("lock");
        if (lockFails()) throw systemError("ENOMEM", "mlock");
      },
      unlock: () => void calls.push("unlock"),
    });
    return { busy, backend, calls };
  }

  test("unlocked before its pages move; the new map is not locked", () => {
    const { backend, calls } = lockingBackend(() => false);
    const m = mapChecked(backend, -1, 4096, RDWR, ANON, 0, false, false);
    m.lock();
    const n = m.resize(8192);
    assert.deepEqual(calls, ["lock", "unlock"]);
    n.resize(4096).unmap(); // never locked: nothing to unlock
    assert.deepEqual(calls, ["lock", "unlock"]);
  });

  test("a resize that fails locks the old map again; a lock that fails then leaves it usable", () => {
    let failLock = false;
    const { busy, backend, calls } = lockingBackend(() => failLock);
    const m = mapChecked(backend, -1, 4096, RDWR, ANON, 0, false, false);
    m.lock();
    busy.on = true;
    assert.throws(() => m.resize(8192), { code: "EBUSY" });
    assert.deepEqual(calls, ["lock", "unlock", "lock"], "locked again");
    failLock = true;
    assert.throws(() => m.resize(8192), { code: "EBUSY" }, "the resize's error, not the lock's");
    assert.deepEqual(calls, ["lock", "unlock", "lock", "unlock", "lock"]);
    assert.equal(m.unmapped, false);
    busy.on = false;
    failLock = false;
    const n = m.resize(8192); // no longer locked (the last lock failed): nothing to unlock
    assert.deepEqual(calls.length, 5);
    n.unmap();
  });
});

describe("resize() and the file's size", () => {
  test("truncate is refused up front where the old view cannot be released at once", () => {
    const { backend } = busyBackend({}, { releasesFileOnUnmap: false });
    const file = fileWith(8192);
    const m = mapFileWith(backend, file, { prot: RDWR, keepOpen: true });
    assert.throws(() => m.resize(100, { truncate: true }), { code: "ERR_MMAP_UNSUPPORTED" });
    assert.equal(m.unmapped, false);
    assert.equal(fs.statSync(file).size, 8192);
    const n = m.resize(100); // without truncate it works, and the file keeps its size
    assert.equal(fs.statSync(file).size, 8192);
    n.unmap();
  });

  test("a truncate that fails unmaps the new map too and says so; the bytes stay in the file", () => {
    const { backend } = busyBackend();
    const file = fileWith(8192);
    const fd = fs.openSync(file, "r"); // ftruncate on a read-only descriptor fails
    const m = mapChecked(backend, fd, 8192, RDWR, 0, 0, false, true, true);
    let thrown: (Error & { code?: string }) | undefined;
    try {
      m.resize(100, { truncate: true });
    } catch (error) {
      thrown = error as Error & { code?: string };
    }
    assert.ok(thrown, "resize threw");
    assert.match(thrown.message, /ftruncate.*the file keeps its size; the map was resized, then unmapped too/s);
    assert.equal(m.unmapped, true);
    assert.equal(fs.statSync(file).size, 8192);
  });
});

describe("Windows shared memory (a scripted section)", () => {
  /** A backend with Windows' section calls over plain memory; records what was closed. */
  function sectionBackend(size: number) {
    const closed: unknown[] = [];
    const opened: SharedOpen[] = [];
    const { backend, requests } = memoryBackend("native", realCapabilities(), () => {}, {
      openSection: (how, asked) => {
        opened.push(how);
        return { handle: `section:${how.name}`, size: how.create ? asked : size, created: how.create };
      },
      mapSection: (_section, request: MapRequest) => ({ buffer: new ArrayBuffer(request.length), handle: 77 }),
      closeSection: (section) => void closed.push(section),
    });
    return { backend, closed, opened, requests };
  }

  test("a section of its own size: mapped, fileSize() is the segment's, resize() refused, the handle closed", () => {
    const { backend, closed, opened } = sectionBackend(65_536);
    const m = openSharedMemoryWith(backend, "/seg", {});
    assert.equal(m.length, 65_536);
    assert.equal(m.fileSize(), 65_536);
    assert.deepEqual(opened, [{ name: "seg", create: false, exclusive: false, writable: true }]);
    assert.deepEqual(closed, ["section:seg"], "the section's handle is closed once the view exists");
    assert.throws(() => m.resize(131_072), { code: "ERR_MMAP_UNSUPPORTED" });
    assert.equal(m.unmapped, false);
    m.unmap();
  });

  test("a size past a section's end is ERR_OUT_OF_RANGE, and the handle is closed all the same", () => {
    const { backend, closed } = sectionBackend(4096);
    assert.throws(() => openSharedMemoryWith(backend, "small", { size: 8192 }), { code: "ERR_OUT_OF_RANGE" });
    assert.deepEqual(closed, ["section:small"]);
  });

  test("created with a size, RDONLY opens a private view", () => {
    const { backend, requests } = sectionBackend(12_288);
    const m = openSharedMemoryWith(backend, "made", { size: 12_288, create: true });
    assert.equal(m.length, 12_288);
    m.unmap();
    const r = openSharedMemoryWith(backend, "made", { prot: RDONLY, size: 4096 });
    assert.equal(r.length, 4096);
    assert.equal(requests.length, 0, "sections are mapped with mapSection, not map");
    r.unmap();
  });
});
