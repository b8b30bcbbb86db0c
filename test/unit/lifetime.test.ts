/**
 * What happens to a map the program drops without `unmap()`: once the `MMap`
 * and then its buffer are garbage-collected, the backend's `release` (or,
 * where the memory moved to another buffer, `abandon`) runs and a descriptor
 * the map owns is closed. Against a scripted backend, in this process, so it
 * needs a forced collection (`--expose-gc`, which vitest.config.ts and
 * `npm test` pass; Bun has `Bun.gc`).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe } from "vitest";
import { RDWR } from "../../src/api/constants.js";
import { mapFileWith } from "../../src/api/map.js";
import type { MMap } from "../../src/api/mmap.js";
import type { Backend } from "../../src/backends/contract.js";
import { collectGarbage, forceGc } from "../conformance/gc.js";
import { testUnless } from "../unless.js";
import { memoryBackend, realCapabilities, tempFiles } from "./fixtures.js";

const noGc = forceGc()
  ? undefined
  : "needs a forced garbage collection: run with --expose-gc (Deno: --v8-flags=--expose-gc)";

const { fileWith } = tempFiles("portable-mmap-lifetime-", 1);

/** A backend that needs the caller's descriptor (so mapFile keeps the one it opened) and logs release and abandon. */
function needsDescriptor(): { backend: Backend<number>; log: string[]; fds: number[] } {
  const log: string[] = [];
  const { backend, requests } = memoryBackend(
    "fallback",
    realCapabilities({
      sharesPageCache: false,
      locksMemory: false,
      enforcesProtection: false,
      reportsResidency: false,
      flushesOffThread: false,
      needsDescriptor: true,
    }),
    undefined,
    { release: (h) => void log.push(`release ${h}`), abandon: (h) => void log.push(`abandon ${h}`) },
  );
  return {
    backend,
    log,
    get fds() {
      return requests.map((request) => request.fd);
    },
  };
}

/** Whether `fd` is open in this process. */
function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Maps a new file through `backend` (mapFile opens it) and returns the descriptor the map keeps; the map is dropped. */
function mapAndDrop(made: ReturnType<typeof needsDescriptor>, onMap?: (m: MMap) => void): number {
  const file = fileWith(8192);
  const m = mapFileWith(made.backend, file, { prot: RDWR });
  onMap?.(m);
  const fd = made.fds.at(-1);
  assert.ok(fd !== undefined && fd >= 0, "the backend was given the file's descriptor");
  return fd;
}

const reason = noGc;

describe("a dropped map", () => {
  testUnless(reason, "is released and its own descriptor closed once it and its buffer are collected", async () => {
    const made = needsDescriptor();
    const fd = mapAndDrop(made);
    assert.ok(isOpen(fd), "the map keeps the descriptor while it lives");
    await collectGarbage(20);
    assert.deepEqual(made.log, ["release 1"]);
    assert.equal(isOpen(fd), false, "the descriptor is closed after collection");
  });

  testUnless(
    reason,
    "whose memory moved to another buffer is abandoned, not released; its descriptor is closed",
    async () => {
      const made = needsDescriptor();
      let moved: ArrayBuffer | undefined;
      const fd = mapAndDrop(made, (m) => {
        moved = structuredClone(m.buffer, { transfer: [m.buffer] });
        assert.equal(m.length, 0);
        assert.throws(() => m.flush(), { code: "ERR_MMAP_DETACHED" });
      });
      await collectGarbage(20);
      assert.deepEqual(made.log, ["abandon 1"], "the moved buffer may still use the memory: abandon, never release");
      assert.equal(isOpen(fd), false);
      assert.equal(moved?.byteLength, 8192, "the moved buffer keeps its memory");
    },
  );
});
