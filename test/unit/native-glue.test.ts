/**
 * The native backend's TypeScript glue over a scripted addon: how it packs
 * the arguments of the Windows section calls and turns their error codes into
 * the shared errors (the real calls run only on Windows, in the matrix's Wine cell).
 */
import * as assert from "node:assert/strict";
import { describe, test } from "vitest";
import type { Addon } from "../../src/backends/addon.js";
import { create } from "../../src/backends/native/index.js";
import { sharedRequest } from "./fixtures.js";

const request = sharedRequest(-1, 8192);

/** An addon as the Windows build looks to the glue: section calls that record their arguments. */
function windowsAddon(fail: boolean) {
  const calls: unknown[][] = [];
  const scratch = new Float64Array(4);
  const syscalls = ["CreateFileMappingW", "MapViewOfFile"];
  const addon = {
    windows: true,
    scratch,
    syscalls,
    pageSize: 4096,
    allocationGranularity: 65_536,
    retiresInPlace: true,
    handlesFaults: false,
    counters: new Int32Array(3),
    sweep: () => 0,
    openSection: (name: string, how: number, size: number) => {
      calls.push(["openSection", name, how, size]);
      if (!fail) return [4242, 65_536, true];
      scratch[1] = 0;
      return 183; // ERROR_ALREADY_EXISTS
    },
    mapSection: (section: number, length: number, flags: number) => {
      calls.push(["mapSection", section, length, flags]);
      if (!fail) {
        scratch[0] = 9;
        return new ArrayBuffer(length);
      }
      scratch[1] = 1;
      return 8; // ERROR_NOT_ENOUGH_MEMORY
    },
    closeSection: (section: number) => void calls.push(["closeSection", section]),
  } as unknown as Addon;
  return { addon, calls };
}

describe("native glue: Windows sections", () => {
  test("the calls get the name, the option bits, the size and the map flags; results come back as the contract's", () => {
    const { addon, calls } = windowsAddon(false);
    const backend = create(addon);
    assert.equal(backend.capabilities.sharesMemoryByName, true);
    const section = backend.openSection?.({ name: "seg", create: true, exclusive: true, writable: true }, 65_536);
    assert.deepEqual(section, { handle: 4242, size: 65_536, created: true });
    const mapping = backend.mapSection?.(4242, request);
    assert.equal(mapping?.handle, 9);
    assert.equal(mapping?.buffer.byteLength, 8192);
    backend.closeSection?.(4242);
    assert.deepEqual(calls, [
      ["openSection", "seg", 1 | 2 | 4, 65_536], // create, exclusive, read-write
      ["mapSection", 4242, 8192, 1 | 2], // shared, writable
      ["closeSection", 4242],
    ]);
  });

  test("a failing call is the shared error, with the Windows number and the POSIX code", () => {
    const { addon } = windowsAddon(true);
    const backend = create(addon);
    assert.throws(() => backend.openSection?.({ name: "seg", create: false, exclusive: false, writable: false }, 0), {
      code: "EEXIST",
      win32: 183,
      syscall: "CreateFileMappingW",
    });
    assert.throws(() => backend.mapSection?.(1, request), { code: "ENOMEM", win32: 8, syscall: "MapViewOfFile" });
  });
});
