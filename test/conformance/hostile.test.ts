/**
 * No crash from ordinary JavaScript: the map's memory moved to another buffer
 * (BYOB read, transfer, structuredClone, postMessage), unmap() while the
 * thread pool still works on it, ranges whose getters unmap, and a tight
 * loop of maps. Each runs in a child process that must exit 0 with the
 * documented outcome on every backend.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, caps, runChild, tempFile } from "./helpers.js";

const real = caps.sharesPageCache;
const deno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const transferable = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === "function";
const noTransfer = transferable ? undefined : "needs ArrayBuffer.prototype.transfer (Node >= 22, Bun, Deno)";

// JSON drops keys whose value is undefined: expected values leave them out too.

/** Runs a scenario of hostile-child.ts on a fresh 1 MiB file of 0x41 (and a second one of 0x42). */
function scenario(name: string): Record<string, unknown> {
  const file = tempFile(Buffer.alloc(1 << 20, 0x41));
  const other = tempFile(Buffer.alloc(1 << 20, 0x42));
  const child = runChild(["hostile", file, name, other], {}, ["--expose-gc"]);
  assert.equal(child.signal, null, `the child died by ${child.signal}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  const last = child.stdout.trim().split("\n").at(-1) as string;
  // Wine has ended a failed child with status 0 and nothing on stdout: say what it printed.
  assert.ok(last.startsWith("{"), `no result on stdout (${JSON.stringify(last)}); stderr: ${child.stderr}`);
  return JSON.parse(last);
}

/**
 * A scenario that unmaps while crypto.randomFill fills the map: the fill ends
 * well or with its own error, and the map reads length 0. On Deno, the
 * documented failure of its polyfill instead (then undefined).
 */
function randomFillScenario(name: string): Record<string, unknown> | undefined {
  if (deno) {
    // Documented: Deno's node:crypto polyfill throws from its own callback when the buffer it
    // fills is detached before it is done, with any buffer (transfer(0) does the same).
    const child = runChild(["hostile", tempFile(Buffer.alloc(16)), name, tempFile()], {}, ["--expose-gc"]);
    assert.equal(child.signal, null, `the child died by ${child.signal}: ${child.stderr}`);
    assert.match(child.stderr, /Cannot perform Construct on a detached ArrayBuffer[\s\S]*_randomFill/);
    return undefined;
  }
  const r = scenario(name);
  const outcome = r.outcome as string;
  assert.ok(outcome === "ok" || outcome === "ERR_CRYPTO_OPERATION_FAILED", outcome);
  if (caps.detachesOnUnmap) assert.equal(r.length, 0);
  return r;
}

/** What a moved (or copied) buffer sees around unmap(), per backend. */
function assertMoveOut(r: Record<string, unknown>): void {
  if (r.refused !== undefined) {
    // The runtime refuses to transfer an external buffer: nothing moved.
    assert.equal(r.refused, "DataCloneError");
    assert.equal(r.unmapError, undefined);
    return;
  }
  assert.equal(r.unmapped, true);
  if (r.shared) {
    assert.ok(real, "only a real map shares the file's pages");
    assert.equal(r.detached, true);
    assert.equal(r.unmapError, undefined);
    if (caps.releasesFileOnUnmap) {
      assert.equal(r.after, 0, "the moved view reads zeros after unmap()");
      assert.equal(r.file1, 0x41, "a write after unmap() never reaches the file");
    } else {
      // Documented: without placeholders (Windows) the view stays until its buffer is collected.
      assert.equal(r.after, 0x99);
      assert.equal(r.file1, 0x98, "the moved view still writes the file");
      return;
    }
  } else {
    assert.equal(r.after, 0x99, "a copy, or the fallback's own memory, keeps its bytes");
    assert.equal(r.file1, 0x41, "a write after unmap() never reaches the file");
    if (r.detached && !real) assert.equal(r.unmapError, "ERR_MMAP_DETACHED", "the fallback reports what it lost");
    else assert.equal(r.unmapError, undefined);
  }
}

describe("no crash from JavaScript", () => {
  for (const whole of [false, true]) {
    const into = whole ? "into the map itself" : "into a view of the map";
    test(`a BYOB read ${into} moves its memory: methods say so, unmap() completes, the moved view reads zeros`, () => {
      const r = scenario(whole ? "byob-whole" : "byob");
      assert.equal(r.valueType, "Uint8Array", "the stream's result is a plain Uint8Array");
      assert.equal(r.valueLength, 1);
      assert.equal(r.mapLength, 0, "the map's own buffer is detached by the read");
      assert.equal(r.movedLength, 1 << 20);
      assert.equal(r.flush, "ERR_MMAP_DETACHED");
      assert.equal(r.asBuffer, "ERR_MMAP_DETACHED");
      assert.equal(r.lock, "ERR_MMAP_DETACHED");
      assert.equal(r.unmapped, true);
      if (real && caps.releasesFileOnUnmap) {
        assert.equal(r.unmapError, undefined);
        assert.deepEqual(r.after, [0, 0]);
        assert.deepEqual(
          r.file,
          [7, 0x41, 0x41, 0x41, 0x41, 0x41],
          "the read reached the file, the later write did not",
        );
      } else if (real) {
        // Documented: without placeholders (Windows) the view stays until its buffer is collected.
        assert.equal(r.unmapError, undefined);
        assert.deepEqual(r.after, [7, 0x41]);
        assert.deepEqual(r.file, [7, 0x41, 0x41, 0x41, 0x41, 9], "the moved view still reads and writes the file");
      } else {
        // Documented: the fallback cannot write back memory it no longer has.
        assert.equal(r.unmapError, "ERR_MMAP_DETACHED");
        assert.deepEqual(r.after, [7, 0x41]);
        assert.deepEqual(r.file, [0x41, 0x41, 0x41, 0x41, 0x41, 0x41]);
      }
    });
  }

  test("maps dropped in rounds with synchronous collections in between, no await: no crash, none left live", () => {
    const r = scenario("dropped-rounds") as { after: { live: number } | null };
    if (caps.sharesPageCache) assert.equal(r.after?.live, 0);
    else assert.deepEqual(r, { after: null });
  });

  test("the memory moves, the moved buffer is collected, then unmap(): the range is given back (native)", () => {
    const r = scenario("moved-collected") as { before: unknown; after: unknown; unmapError?: string };
    if (backendName === "native") assert.deepEqual(r, { before: r.before, after: r.before });
    else if (backendName === "koffi") {
      // Documented: a range whose memory moved before unmap() stays reserved for good, outside the counts.
      assert.deepEqual(r, { before: r.before, after: r.before });
    } else {
      // Documented: the fallback cannot write back memory it no longer has.
      assert.deepEqual(r, { before: null, after: null, unmapError: "ERR_MMAP_DETACHED" });
    }
  });

  testUnless(noTransfer, "buffer.transfer() then unmap()", () => assertMoveOut(scenario("transfer")));
  test("structuredClone with a transfer list, then unmap()", () => assertMoveOut(scenario("clone")));
  test("postMessage with a transfer list, then unmap()", () => assertMoveOut(scenario("port")));

  testUnless(noTransfer, "buffer.transfer(), then the map is collected: the moved buffer keeps working", () => {
    const r = scenario("transfer-drop");
    assert.equal(r.before, 0x41);
    assert.equal(r.file1, real ? 0x33 : 0x41, "writes through the moved buffer reach the file on a real map");
  });

  testUnless(noTransfer, "buffer.transfer(0) frees the memory; unmap() afterwards touches no other map", () => {
    const r = scenario("transfer-zero");
    // The fallback says what it could not write back; the others lose nothing (the file's pages).
    const lost = real ? {} : { unmapError: "ERR_MMAP_DETACHED" };
    assert.deepEqual(r, { unmapped: true, ...lost, next0: 0x42, nextLength: 1 << 20, other1: 0x44 });
  });

  test("after unmap() the file can be truncated and deleted (where releasesFileOnUnmap; else once collected)", () => {
    const r = scenario("truncate-after-unmap");
    if (caps.releasesFileOnUnmap) assert.equal(r.atOnce, "ok");
    // Windows refuses while a view is mapped (ERROR_USER_MAPPED_FILE, which Node reports as UNKNOWN).
    else assert.notEqual(r.atOnce, "ok");
    assert.deepEqual({ ...r, atOnce: undefined }, { atOnce: undefined, afterCollection: "ok", exists: false });
  });

  test("a file truncated under a map: zeros and ERR_MMAP_FAULT where survivesFileFaults, else SIGBUS", () => {
    const page = 64 * 1024;
    const file = tempFile(Buffer.alloc(4 * page, 0x41));
    const child = runChild(["hostile", file, "truncate-under-map", tempFile()], {}, ["--expose-gc"]);
    if (process.platform === "win32" && caps.sharesPageCache) {
      // Windows refuses to truncate a file while a view of it is mapped: nothing can fault.
      assert.equal(child.status, 0, child.stderr);
      assert.ok(JSON.parse(child.stdout.trim().split("\n").at(-1) as string).truncate);
      return;
    }
    if (!caps.survivesFileFaults) {
      // Documented: koffi (and native outside Linux) cannot catch the fault; the process ends as in C.
      assert.equal(child.signal, "SIGBUS", `status ${child.status}: ${child.stderr}`);
      return;
    }
    assert.equal(child.signal, null, `the child died by ${child.signal}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout.trim().split("\n").at(-1) as string);
    if (real) {
      assert.deepEqual(r, {
        read: 0,
        still: 0x41,
        length: 4 * page,
        flush: "ERR_MMAP_FAULT",
        lock: "ERR_MMAP_FAULT",
        fileOffset: 3 * page + 5,
        unmapError: "ERR_MMAP_FAULT",
        unmapped: true,
        size: page,
      });
    } else {
      // The fallback's copy was read at map time: it sees no fault, and writes its changes back.
      assert.equal(r.read, 0x41);
      assert.equal(r.flush, "ok");
      assert.equal(r.unmapped, true);
      assert.equal(r.size, 3 * page + 7);
    }
  });

  test("live maps are refused with ENOMEM before the system's limit of mappings (here lowered to 50); resize() at the limit is not", () => {
    const file = tempFile(Buffer.alloc(4096, 1));
    const child = runChild(["hostile", file, "map-limit", tempFile()], { PORTABLE_MMAP_MAX_MAPS: "50" });
    assert.equal(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout.trim().split("\n").at(-1) as string);
    if (caps.sharesPageCache) {
      // Each real map is a mapping of the process; unmapping one makes room again.
      // resize() replaces a map, so it passes at the limit; the count it leaves is the same.
      assert.deepEqual(r, {
        refused: { at: 50, code: "ENOMEM", syscall: "mmap", advice: true },
        resized: [2048, 8192],
        stillRefused: "ENOMEM",
        againLength: 4096,
      });
    } else {
      // The fallback's maps are JavaScript memory, not mappings: no limit.
      assert.deepEqual(r, { refused: null, resized: [2048, 8192], stillRefused: null, againLength: 4096 });
    }
  });

  test("the limit of live maps counts every thread's maps (30 here, then a worker maps up to 40)", () => {
    const file = tempFile(Buffer.alloc(4096, 1));
    const child = runChild(["hostile", file, "map-limit-threads", tempFile()], { PORTABLE_MMAP_MAX_MAPS: "50" });
    assert.equal(child.signal, null, `the child died by ${child.signal}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    const r = JSON.parse(child.stdout.trim().split("\n").at(-1) as string);
    if (caps.sharesPageCache) assert.deepEqual(r, { worker: { held: 20, code: "ENOMEM" } });
    else assert.deepEqual(r, { worker: { held: 40 } });
  });

  test("unmap() while crypto.randomFill fills the map on the thread pool", () => {
    randomFillScenario("randomfill");
  });

  test("unmap() during a flushAsync while crypto.randomFill fills the map: the range outlives both", () => {
    const r = randomFillScenario("randomfill-flushing");
    if (r) assert.equal(r.flushed, "ok");
  });

  for (const end of ["natural", "terminate"] as const) {
    test(`a worker posts its map's moved memory here and ends (${end}): the buffer stays safe to use`, () => {
      const name = end === "natural" ? "post-moved" : "post-moved-terminate";
      if (bun && backendName === "native" && end === "terminate") {
        // Documented: Bun runs a terminated worker's finalizers with nothing to tell them from
        // ordinary ones, so the range may be given back under the buffer posted here (a crash);
        // where the worker got as far as its exit event, the range was kept: zeros.
        const child = runChild(["hostile", tempFile(Buffer.alloc(1 << 20, 0x41)), name, tempFile()], {}, [
          "--expose-gc",
        ]);
        if (child.signal === "SIGSEGV") return;
        assert.equal(
          child.status,
          0,
          `neither Bun's documented crash nor a clean end: ${child.signal} ${child.stderr}`,
        );
        const r = JSON.parse(child.stdout.trim().split("\n").at(-1) as string);
        assert.deepEqual(r, { backend: "native", length: 1 << 20, before: 0x41, after: 0, file1: 0x41 });
        return;
      }
      const r = scenario(name);
      assert.equal(r.backend, backendName);
      assert.equal(r.length, 1 << 20);
      assert.equal(r.before, 0x41);
      if (backendName === "native" && caps.releasesFileOnUnmap && !deno) {
        // The worker's teardown retired the range in place: zeros, and writes go nowhere.
        assert.equal(r.after, 0);
        assert.equal(r.file1, 0x41);
      } else {
        // koffi keeps a moved range mapped for good; the fallback's memory is a copy; Windows
        // without placeholders keeps the view; Deno runs the finalizer only once the moved buffer
        // is collected: the bytes stay, and only a real map writes the file.
        assert.equal(r.after, 0x41);
        assert.equal(r.file1, real ? 0x55 : 0x41);
      }
    });
  }

  test("unmap() while zlib.deflate reads the map on the thread pool", () => {
    const r = scenario("zlib-once");
    assert.ok(r.outcome === true || typeof r.outcome === "string", String(r.outcome));
    if (r.busy) assert.equal(r.mappedWhileBusy, 1 << 20, "EBUSY left the map as it was");
  });

  test("unmap() while fs.read writes into the map on the thread pool", () => {
    const r = scenario("fsread");
    assert.ok(r.outcome === 1 << 20 || typeof r.outcome === "string", String(r.outcome));
    if (r.busy) assert.equal(r.mappedWhileBusy, 1 << 20, "EBUSY left the map as it was");
  });

  test("a range whose getter unmaps: read once, then the map is found unmapped", () => {
    assert.deepEqual(scenario("getter-unmap"), {
      results: ["ERR_MMAP_UNMAPPED", "ERR_MMAP_UNMAPPED", "ERR_MMAP_UNMAPPED"],
    });
  });

  testUnless(noTransfer, "a range whose getter moves the memory away", () => {
    const lost = real ? {} : { unmapError: "ERR_MMAP_DETACHED" };
    assert.deepEqual(scenario("getter-transfer"), { code: "ERR_MMAP_DETACHED", ...lost, movedLength: 1 << 20 });
  });

  testUnless(
    process.platform === "linux" ? undefined : "counts mappings through /proc/self/maps, which only Linux has",
    "100,000 map/touch/unmap cycles with no await do not pile up mappings",
    () => {
      type Counts = { lines: number; ofFile: number; vmKiB: number; live: number; retired: number };
      const r = scenario("tight-loop") as { cycles: number; base: Counts; max: Counts; after: Counts };
      console.log(
        `# ${backendName}, ${r.cycles} cycles: base ${JSON.stringify(r.base)}, most in the loop ${JSON.stringify(r.max)}, after it ${JSON.stringify(r.after)}`,
      );
      assert.equal(r.max.ofFile, 0, "unmap() lets go of the file at once: no mapping of it is left");
      assert.ok(r.max.live <= 1, "one live map at a time");
      // The runtime's own heap grows by some hundreds of mappings in such a loop (the fallback, which maps
      // nothing, shows +200 to +400); one mapping per cycle would be +100,000.
      const bound = r.cycles / 50;
      assert.ok(
        r.max.lines - r.base.lines < bound,
        `fewer than ${bound} more mappings, not ${r.max.lines - r.base.lines}`,
      );
      assert.equal(r.after.retired, 0, "every unmapped range is given back once the loop yields");
      assert.equal(r.after.live, 0);
    },
  );
});
