/**
 * What several unit test files share: a temporary folder of files (removed
 * after the file's tests), and a backend in memory whose `map` hands out plain
 * `ArrayBuffer`s, for tests of the API layer that need no system calls.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import { addonDetach } from "../../src/backends/addon.js";
import type { Backend, BackendName, Capabilities, MapRequest } from "../../src/backends/contract.js";
import type { Koffi } from "../../src/backends/koffi/types.js";

/**
 * Ways the koffi tests can detach koffi's buffers here, as the backend's
 * own candidates (src/backends/koffi/index.ts): `detachByTransfer` is
 * `transfer(0)` where the runtime has it; `detachHere` is that, else the
 * native addon's helper (Node 20), else undefined.
 */
export function koffiDetach(): {
  detachByTransfer?: (buffer: ArrayBuffer) => void;
  detachHere?: (buffer: ArrayBuffer) => void;
} {
  const detachByTransfer = (ArrayBuffer.prototype as { transfer?: (n: number) => ArrayBuffer }).transfer
    ? (buffer: ArrayBuffer) => void (buffer as unknown as { transfer(n: number): ArrayBuffer }).transfer(0)
    : undefined;
  return { detachByTransfer, detachHere: detachByTransfer ?? addonDetach() };
}

/** koffi, loaded as the backend loads it, or why it cannot be here (the koffi tests then skip with that reason). */
export function loadKoffi(): { koffi?: Koffi; reason?: string } {
  try {
    return { koffi: createRequire(import.meta.url)("koffi") as Koffi };
  } catch (error) {
    return { reason: `koffi is not loadable here: ${(error as Error).message}` };
  }
}

/**
 * A new temporary folder named after `prefix`, removed after this test
 * file's tests: `dir`, and `fileWith(bytes)`, which writes a new file of
 * `bytes` bytes of `fill` there and returns its path.
 */
export function tempFiles(prefix: string, fill: number): { dir: string; fileWith: (bytes: number) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const fileWith = (bytes: number): string => {
    const file = path.join(dir, `f${files++}.bin`);
    fs.writeFileSync(file, Buffer.alloc(bytes, fill));
    return file;
  };
  return { dir, fileWith };
}

/** The capabilities of a backend that maps for real (native's), with `changes` on top. */
export function realCapabilities(changes: Partial<Capabilities> = {}): Capabilities {
  return {
    sharesPageCache: true,
    locksMemory: true,
    enforcesProtection: true,
    reportsResidency: true,
    detachesOnUnmap: true,
    releasesFileOnUnmap: true,
    survivesFileFaults: true,
    flushesOffThread: true,
    needsDescriptor: false,
    sharesMemoryByName: true,
    ...changes,
  };
}

/**
 * A backend in memory named `name` with `capabilities`: `map` records the
 * request, calls `onMap` (which may throw) and returns a plain `ArrayBuffer`
 * with the next handle; `reserve` extends the file; the rest do nothing.
 * `extra` adds or replaces members (`release`, `abandon`).
 */
export function memoryBackend(
  name: BackendName,
  capabilities: Capabilities,
  onMap: (request: MapRequest) => void = () => {},
  extra: Partial<Backend<number>> = {},
): { backend: Backend<number>; requests: MapRequest[] } {
  const requests: MapRequest[] = [];
  const noop = (): void => {};
  let handles = 0;
  const backend: Backend<number> = {
    name,
    pageSize: 4096,
    allocationGranularity: 4096,
    capabilities,
    advice: [],
    reserve: (fd, offset, length) => fs.ftruncateSync(fd, offset + length),
    map(request) {
      requests.push(request);
      onMap(request);
      return { buffer: new ArrayBuffer(request.length), handle: ++handles };
    },
    flush: noop,
    flushAsync: async () => {},
    lock: noop,
    unlock: noop,
    advise: noop,
    protect: noop,
    residency: (_h, _o, length) => new Uint8Array(Math.ceil(length / 4096)),
    detach: noop,
    unmap: () => false,
    ...extra,
  };
  return { backend, requests };
}

/** Maps `length` bytes of `file` shared and writable through `backend` (the descriptor is closed again). */
export function mapShared<H>(backend: Backend<H>, file: string, length: number): ReturnType<Backend<H>["map"]> {
  const fd = fs.openSync(file, "r+");
  try {
    const request: MapRequest = {
      fd,
      offset: 0,
      length,
      shared: true,
      writable: true,
      exec: false,
      anon: false,
      populate: false,
    };
    return backend.map(request);
  } finally {
    fs.closeSync(fd);
  }
}

/** A request for a shared, writable map of `length` bytes of `fd` from offset 0 (`fd` -1: a section's view). */
export function sharedRequest(fd: number, length: number): MapRequest {
  return { fd, offset: 0, length, shared: true, writable: true, exec: false, anon: false, populate: false };
}
