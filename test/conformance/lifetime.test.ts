/** unmap, use after unmap, `using`, release after garbage collection. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { ANON, map, mapRegion, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, pattern, runChild, tempFile, throwsCode, withFd } from "./helpers.js";

describe("unmap", () => {
  test("is idempotent and sets unmapped", () => {
    const m = mapRegion(null, 4096, RDWR, ANON);
    m.unmap();
    m.unmap();
    assert.equal(m.unmapped, true);
  });

  test("every view reads length 0 afterwards where the backend detaches", () => {
    const m = withFd(tempFile(pattern(8192)), "r", (fd) => map(fd));
    const view = m.subarray(100, 200);
    const buffer = m.asBuffer();
    const words = new Uint32Array(m.buffer, 0, 16);
    m.unmap();
    if (caps.detachesOnUnmap) {
      assert.equal(m.length, 0);
      assert.equal(view.length, 0);
      assert.equal(buffer.length, 0);
      assert.equal(words.length, 0);
      assert.equal(m.buffer.byteLength, 0);
      assert.equal(m[0], undefined);
    } else {
      // Documented: the memory is replaced by zeros at the same address, views keep their length.
      assert.equal(m.length, 8192);
      assert.ok(m.every((b) => b === 0));
      assert.ok(view.every((b) => b === 0));
    }
  });

  test("methods after unmap throw ERR_MMAP_UNMAPPED", () => {
    const m = mapRegion(null, 4096, RDWR, ANON);
    m.unmap();
    const calls: [string, () => unknown][] = [
      ["flush", () => m.flush()],
      ["lock", () => m.lock()],
      ["unlock", () => m.unlock()],
      ["advise", () => m.advise("normal")],
      ["protect", () => m.protect(RDWR)],
      ["residency", () => m.residency()],
      ["asBuffer", () => m.asBuffer()],
    ];
    for (const [name, call] of calls) {
      const error = throwsCode(call, Error, "ERR_MMAP_UNMAPPED");
      assert.match(error.message, new RegExp(`${name}\\(\\)`));
    }
  });

  test("an empty map unmaps too", () => {
    const m = withFd(tempFile(), "r", (fd) => map(fd));
    m.unmap();
    assert.equal(m.unmapped, true);
    throwsCode(() => m.flush(), Error, "ERR_MMAP_UNMAPPED");
  });

  test("`using` unmaps at the end of the block (Symbol.dispose)", () => {
    const file = tempFile(pattern(4096));
    let kept: Uint8Array | undefined;
    {
      const m = withFd(file, "r+", (fd) => map(fd, RDWR));
      try {
        m[0] = 0x99;
        kept = m;
      } finally {
        m[Symbol.dispose]();
      }
    }
    assert.equal((kept as { unmapped?: boolean }).unmapped, true);
    assert.equal(fs.readFileSync(file)[0], 0x99);
  });

  test("reading and writing an unmapped map in a child process exits cleanly", () => {
    const file = tempFile(pattern(4096));
    const child = runChild(["read-after-unmap", file]);
    assert.equal(child.signal, null, `child died by ${child.signal}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout);
    if (caps.detachesOnUnmap) assert.deepEqual(result, { length: 0, viewLength: 0, bufferLength: 0, sum: 0 });
    else assert.deepEqual(result, { length: 4096, viewLength: 8, bufferLength: 4096, sum: 0 });
  });

  test("a write after protect(RDONLY) faults only where the backend enforces protection", () => {
    const child = runChild(["write-after-protect"]);
    if (caps.enforcesProtection) {
      // Documented: protect() is the one call that hands out hardware protection.
      assert.equal(child.stdout, "", "the write must fault before anything is printed");
      if (process.platform === "win32") {
        assert.equal(child.status, 0xc0000005, `an access violation, not ${child.status}: ${child.stderr}`);
      } else {
        assert.ok(
          child.signal === "SIGSEGV" || child.signal === "SIGBUS",
          `a memory fault, not status ${child.status} signal ${child.signal}: ${child.stderr}`,
        );
      }
    } else {
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), { value: 9 });
    }
  });

  testUnless(
    process.platform === "linux" ? undefined : "counts mappings through /proc/self/maps, which only Linux has",
    "maps dropped without unmap are released after garbage collection",
    () => {
      const file = tempFile(pattern(4096));
      const child = runChild(["gc-release", file], {}, ["--expose-gc"]);
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), { mapped: 0, fds: 0 });
    },
  );
});

describe("V8's ArrayBufferDetaching protector (docs/performance.md)", () => {
  // The first detach of any buffer in a process makes V8's optimized typed-array loops check for
  // detached buffers from then on, for good: 1.5x to 2.5x slower loops over every typed array.
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  const why =
    runtime.Bun !== undefined
      ? "Bun runs JavaScriptCore, which has no V8 protectors"
      : runtime.Deno !== undefined
        ? "Deno prints no protector trace, not even for a transfer(): its protector looks given up from the start"
        : process.platform === "win32"
          ? "V8's trace lines are placed among the child's lines in a pipe on POSIX only (checked on Linux)"
          : undefined;
  const trace = (how: string) => {
    const file = tempFile(pattern(8192));
    const r = runChild(["detach-protector", file, how], {}, ["--trace-protector-invalidation"]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const result = lines.findIndex((line) => line.startsWith('{"byte":'));
    assert.ok(result >= 0, r.stdout);
    // Only before the result: as the process ends, Node detaches every buffer it still has.
    return lines.slice(0, result).some((line) => line.includes("Invalidating protector cell ArrayBufferDetaching"));
  };

  testUnless(why, "loading the library, mapping, reading, writing and flushing detach no buffer", () => {
    // koffi (documented in docs/backends.md): loading the backend detaches one buffer of its own, to
    // find out whether this runtime can detach koffi's buffers at all.
    assert.equal(trace("keep"), backendName === "koffi");
  });

  testUnless(why, "unmap() detaches where the backend detaches on unmap", () => {
    assert.equal(trace("unmap"), caps.detachesOnUnmap || backendName === "koffi");
  });
});
