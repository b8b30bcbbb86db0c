/**
 * Where written bytes land: descriptors in append mode, regions of 2 GiB and
 * more, descriptors whose file cannot be opened again, and which stores a
 * flush writes back. Written for the fallback's write-back; every backend
 * must pass.
 */
import * as assert from "node:assert/strict";
import { constants } from "node:buffer";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { map, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, childScript, denoChildV8Flags, runChild, tempFile, withFd } from "./helpers.js";
import { contents, positions, type StoreResult, storeAndFlush, stored } from "./store.js";

const linux = process.platform === "linux";
const windows = process.platform === "win32";
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

type Step = StoreResult["step"];

/**
 * What an RDWR map of a descriptor in append mode comes to.
 * - Real maps write through the page cache, where O_APPEND means nothing;
 *   Windows refuses to map a handle opened for appending writable (EACCES).
 * - The fallback writes back with positioned writes, which append mode sends
 *   to the end of the file. On Linux it writes through a descriptor of its
 *   own, opened again through /proc/self/fd without O_APPEND: the bytes land
 *   in place. Through the caller's descriptor (`needsDescriptor`: Windows,
 *   Deno without --allow-all) the first write shows that it appends, and the
 *   flush fails. macOS and the BSDs open /dev/fd/N as a duplicate of the
 *   caller's descriptor, O_APPEND included; whether their pwrite then appends
 *   is the kernel's business, so either way is right there.
 */
function appendSteps(needsDescriptor: boolean): Step[] {
  if (caps.sharesPageCache) return [windows ? "map" : "written"];
  if (linux) return [needsDescriptor ? "flush" : "written"];
  return windows ? ["flush"] : ["written", "flush"];
}

/** Bytes land where they were stored, or the map or flush says EACCES and nothing changes in place. */
function checkStore(result: StoreResult, steps: Step[]): void {
  assert.ok(steps.includes(result.step), `expected ${steps.join(" or ")}, got ${JSON.stringify(result)}`);
  if (result.step === "written") {
    assert.deepEqual(result.bytes, [stored, stored, stored], "every byte at its offset");
    assert.equal(result.size, contents.length, "nothing appended");
    return;
  }
  assert.equal(result.code, "EACCES");
  assert.deepEqual(result.bytes, [0x41, 0x41, 0x41], "no byte changed in place");
  if (result.step === "map") {
    assert.equal(result.size, contents.length);
  } else {
    assert.equal(result.again, "EACCES", "a second flush refuses too, and writes nothing");
    assert.equal(result.size, contents.length + 1, "the one byte that showed the descriptor appends");
  }
}

describe("written bytes land at their offsets", () => {
  test("through a descriptor in append mode, or the map or its flush fails with EACCES", () => {
    const file = tempFile(contents);
    const fd = fs.openSync(file, "a+");
    try {
      checkStore(storeAndFlush(fd, positions, stored), appendSteps(caps.needsDescriptor));
    } finally {
      fs.closeSync(fd); // a map that refused to flush never writes again
    }
  });

  testUnless(
    deno ? undefined : "only Deno runs without the permission to reopen files (no --allow-all)",
    "through a descriptor in append mode in Deno with only the permissions the library needs",
    () => {
      const file = tempFile(contents);
      const child = childScript;
      const flags = [
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        `--v8-flags=${denoChildV8Flags.join(",")}`,
      ];
      const run = spawnSync(
        (deno as { execPath(): string }).execPath(),
        ["run", ...flags, child, "append-store", file],
        {
          env: { ...process.env, PORTABLE_MMAP_BACKEND: backendName },
          encoding: "utf8",
          timeout: 120_000,
        },
      );
      assert.equal(run.status, 0, run.stderr);
      const { result, needsDescriptor } = JSON.parse(run.stdout);
      // Without --allow-all, Deno refuses /proc/self/fd and /dev/fd: the fallback keeps the caller's descriptor.
      if (!caps.sharesPageCache) assert.equal(needsDescriptor, true);
      checkStore(result, appendSteps(needsDescriptor));
    },
  );

  testUnless(
    windows
      ? "Windows has no mode bits that refuse a new open of a file with a writable descriptor"
      : process.getuid?.() === 0 && typeof process.setuid !== "function"
        ? "root passes every permission check, and this runtime cannot drop to another user"
        : undefined,
    "through a writable descriptor whose file may not be opened again (mode 000)",
    () => {
      const child = runChild(["reopen-denied"]);
      assert.equal(child.status, 0, child.stderr);
      const { uid, results } = JSON.parse(child.stdout);
      assert.notEqual(uid, 0, "the child runs as a user that permission checks apply to");
      // Every backend maps it: the fallback writes back through the caller's descriptor, which must stay open.
      checkStore(results["r+"], ["written"]);
      // In append mode too, except the fallback, which cannot write in place through it. Linux
      // tells at map time (/proc/self/fdinfo); elsewhere /dev/fd duplicates without a permission check.
      checkStore(results["a+"], caps.sharesPageCache ? ["written"] : linux ? ["map"] : appendSteps(false));
    },
  );

  const big = 2 ** 31 + 3 * 4096 + 100; // past 2 GiB (int32 lengths and offsets), not a page multiple
  const memory = 2 * big + 2 ** 30; // the fallback holds the region and its copy in memory
  testUnless(
    windows
      ? "an NTFS file is not sparse unless marked so, which node:fs cannot do: the test would write 2 GiB to the disk"
      : constants.MAX_LENGTH < big
        ? `this runtime's buffers end at ${constants.MAX_LENGTH} bytes`
        : !caps.sharesPageCache && os.freemem() < memory
          ? `the fallback needs ${memory} bytes of free memory for a region of ${big}, ${os.freemem()} are free`
          : undefined,
    "in a region of more than 2 GiB, read and written back",
    () => {
      const file = tempFile();
      try {
        const m = withFd(file, "r+", (fd) => {
          fs.ftruncateSync(fd, big); // sparse: only the pages written take disk space
          fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, big - 2);
          return map(fd, RDWR);
        });
        assert.equal(m.length, big);
        assert.equal(m[big - 2], 0x5a, "read past 2 GiB");
        m.fill(0x77, 2 ** 31 - 2, 2 ** 31 + 2); // a run across 2^31
        m[big - 1] = 0xa5;
        m.flush();
        const fd = fs.openSync(file, "r");
        const across = Buffer.alloc(6);
        const end = Buffer.alloc(2);
        fs.readSync(fd, across, 0, 6, 2 ** 31 - 3);
        fs.readSync(fd, end, 0, 2, big - 2);
        fs.closeSync(fd);
        assert.deepEqual([...across], [0, 0x77, 0x77, 0x77, 0x77, 0]);
        assert.deepEqual([...end], [0x5a, 0xa5]);
        assert.equal(fs.statSync(file).size, big);
        m.unmap();
      } finally {
        fs.rmSync(file, { force: true });
      }
    },
  );
});

describe("what a flush writes back", () => {
  test("a store of the value a map read is written back only by a real map (sharesPageCache)", () => {
    const file = tempFile(Buffer.alloc(8192));
    withFd(file, "r+", (fd) => {
      const m = map(fd, RDWR);
      // Another writer changes three bytes after the map read them as 0.
      const other = fs.openSync(file, "r+");
      fs.writeSync(other, Buffer.from([0x11, 0x22, 0x44]), 0, 3, 100);
      fs.closeSync(other);
      // A real map is the file's page cache and sees the new bytes; the fallback holds what it read.
      assert.deepEqual([...m.subarray(100, 103)], caps.sharesPageCache ? [0x11, 0x22, 0x44] : [0, 0, 0]);
      m[100] = 0; // the value the fallback read: not a change to it, so not written back
      m[101] = 0x33; // a change: written back over the other writer's byte
      // m[102] is not stored: the other writer's byte stays, with every backend.
      m.flush();
      assert.deepEqual([...fs.readFileSync(file).subarray(100, 103)], [caps.sharesPageCache ? 0 : 0x11, 0x33, 0x44]);
      m.unmap();
      assert.deepEqual([...fs.readFileSync(file).subarray(100, 103)], [caps.sharesPageCache ? 0 : 0x11, 0x33, 0x44]);
    });
  });
});
