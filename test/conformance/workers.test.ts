/**
 * Worker threads: several workers write disjoint ranges of one file through
 * maps of their own (every backend; the fallback writes back only the bytes
 * each map changed), and a worker that ends without unmap() leaves no
 * mapping of the file behind, however it ends, except where documented
 * (koffi: worker.terminate() runs no JavaScript, docs/backends.md).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, builtScript, caps, pattern, runChild, tempFile } from "./helpers.js";
import type { Released } from "./worker-release-child.js";
import type { WriteRange } from "./worker-tasks.js";

const workerScript = builtScript("worker.js");

/** Starts a worker; resolves `mapped` with its first message and `ended` with its exit code. */
function start(task: WriteRange): { mapped: Promise<Record<string, unknown>>; ended: Promise<number> } {
  const worker = new Worker(workerScript, { workerData: task });
  const failed = new Promise<never>((_, reject) => worker.on("error", reject));
  const mapped = Promise.race([
    new Promise<Record<string, unknown>>((resolve) => worker.once("message", resolve)),
    failed,
  ]);
  const ended = Promise.race([new Promise<number>((resolve) => worker.on("exit", resolve)), failed]);
  return { mapped, ended };
}

describe("worker threads", () => {
  test("four workers map one file, write disjoint ranges that share pages, flush and end: every byte lands", async () => {
    const workers = 4;
    const chunk = 5000; // not a page multiple: neighbours share pages
    const first = 1000;
    const size = first + workers * chunk + 3000;
    const file = tempFile(pattern(size));
    const go = new Int32Array(new SharedArrayBuffer(4));
    const started = Array.from({ length: workers }, (_, k) =>
      start({
        task: "write-range",
        file,
        from: first + k * chunk,
        to: first + (k + 1) * chunk,
        value: 0x10 + k,
        region: k % 2 === 1,
        go,
      }),
    );
    // Every map is made (the fallback's: a copy of the file) before any worker writes.
    for (const s of started) assert.equal((await s.mapped).backend, backendName, "the worker uses the same backend");
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    for (const s of started) assert.equal(await s.ended, 0);

    const want = pattern(size);
    for (let k = 0; k < workers; k++) want.fill(0x10 + k, first + k * chunk, first + (k + 1) * chunk);
    const got = fs.readFileSync(file);
    const at = got.findIndex((byte, i) => byte !== want[i]);
    assert.equal(at, -1, `byte ${at}: 0x${got[at]?.toString(16)}, expected 0x${want[at]?.toString(16)}`);
  });

  testUnless(
    process.platform === "linux" ? undefined : "counts mappings through /proc/self/maps, which only Linux has",
    "a worker that ends without unmap() leaves no mapping of the file once it has ended (koffi: but after terminate())",
    () => {
      const child = runChild(["worker-release", tempFile()], {}, ["--expose-gc"]);
      assert.equal(child.signal, null, `the child died by ${child.signal}: ${child.stderr}`);
      assert.equal(child.status, 0, child.stderr);
      const results = JSON.parse(child.stdout.trim().split("\n").at(-1) as string) as Record<string, Released>;
      console.log(`# ${backendName}: ${JSON.stringify(results)}`);
      for (const [end, r] of Object.entries(results)) {
        const what = `worker ending by ${end}`;
        assert.equal(r.inWorker.backend, backendName, what);
        assert.equal(r.inWorker.flushError, undefined, what);
        assert.equal(r.exitCode, end === "terminate" ? 1 : 0, what);
        assert.equal(r.inWorker.mapped, caps.sharesPageCache ? 4 : 0, `${what}: its mappings of the file`);
        // Documented: nothing runs in a worker on terminate(), so koffi cannot give its mappings back.
        const kept = backendName === "koffi" && end === "terminate" ? r.inWorker.mapped : 0;
        assert.equal(r.mapped, kept, `${what}: mappings of the file left`);
        // Documented: Bun closes no descriptor of a terminated worker, and no JavaScript runs there:
        // the one the map with keepOpen holds, and the one the fallback's RDWR map opened, stay open.
        const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
        const openFds = bun && end === "terminate" ? 1 + (caps.sharesPageCache ? 0 : 1) : 0;
        assert.equal(r.fds, openFds, `${what}: descriptors of the file left open`);
        // The store was never flushed: the page cache keeps it; the fallback loses it unless unmap() wrote it back.
        const kept0 = caps.sharesPageCache || end.startsWith("pending") ? 0x77 : 0x41;
        assert.equal(r.byte0, kept0, `${what}: the stored byte`);
      }
    },
  );
});
