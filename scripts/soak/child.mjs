// One backend's soak, in a process of its own (scripts/soak.mjs starts it
// with --expose-gc and PORTABLE_MMAP_BACKEND): map/touch/unmap cycles,
// dropped maps, worker threads; after each phase it yields, collects garbage,
// and compares the process's figures (measure.mjs) with those before the
// first phase. Prints progress, then one line `RESULT <json>`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep, setImmediate as yieldNow } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { backendInfo, COPY, mapRegion, RDONLY } from "../../dist/index.js";
import { measure, peak } from "./measure.mjs";

const backend = backendInfo().selected;
const cycles = Number(process.env.PORTABLE_MMAP_SOAK_CYCLES || 100_000);
const rounds = Number(process.env.PORTABLE_MMAP_SOAK_WORKER_ROUNDS || 25);
const WORKERS = 4;

/**
 * How far a figure may end above its baseline once a phase is over and
 * garbage is collected. Measured on Linux x64 (Node 20, 2 cores), 100,000
 * cycles per phase:
 * - lines of /proc/self/maps: the runtime's own heap grows in such loops.
 *   The fallback, which maps nothing, ends with +100 (up to +230 inside the
 *   loop); native +0 to +55, koffi +100. One leaked mapping per 100 cycles
 *   would be +1,000. koffi itself leaves 3 mappings behind per worker thread
 *   that loads it (a worker that only loads koffi and calls getpid() does
 *   too): 4 per worker are allowed in the worker phase.
 * - resident memory: native and koffi end +5 to +40 MiB. The fallback's maps
 *   are JavaScript memory, given back only after a collection; up to 200 MiB
 *   of it waits for one inside the loops, and once freed the C allocator
 *   keeps those pages (RSS +220 to +250 MiB): for the fallback the check is
 *   that JavaScript's buffer memory is back at its baseline, and RSS only
 *   bounds the allocator's high-water mark.
 * - descriptors: none more, ever.
 */
export const tolerance = {
  lines: 600,
  linesPerKoffiWorker: 4,
  fds: 0,
  rssMiB: 96,
  fallbackRssMiB: 512,
  buffersMiB: 8,
};

const say = (text) => console.log(`[${backend}] ${text}`);
const gc = globalThis.gc ?? (globalThis.Bun ? () => globalThis.Bun.gc(true) : undefined);
if (!gc) throw new Error("run with --expose-gc");

/** Yields and collects until finalizers have run. */
async function settle() {
  for (let round = 0; round < 10; round++) {
    gc();
    await sleep(10);
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-soak-"));
const file = path.join(dir, "soak.bin");
const size = 1 << 20;
fs.writeFileSync(file, Buffer.alloc(size, 0x41));
const fd = fs.openSync(file, "r");

/** One map of a page of the file, touched: a read, and a private write on every other one. */
function touchOne(i) {
  const m = mapRegion(fd, 4096, i % 2 ? COPY : RDONLY, 0, (i % 256) * 4096);
  let sum = m[0];
  if (i % 2) {
    m[1] = i & 255;
    sum += m[1];
  }
  return [m, sum];
}

/** Bursts of 10,000 cycles with no await in between (a batch job), then a yield. */
async function cyclesPhase() {
  let max;
  let sum = 0;
  for (let i = 1; i <= cycles; i++) {
    const [m, s] = touchOne(i);
    sum += s;
    m.unmap();
    if (i % 1000 === 0) max = peak(max, measure(file));
    if (i % 10_000 === 0) await yieldNow();
    if (i % 20_000 === 0) say(`map/touch/unmap ${i}/${cycles}`);
  }
  return { max, sum };
}

async function droppedPhase() {
  let max;
  let sum = 0;
  for (let i = 1; i <= cycles; i++) {
    sum += touchOne(i)[1]; // the map is dropped here
    if (i % 1000 === 0) {
      max = peak(max, measure(file));
      await yieldNow(); // as a program does now and then: finalizers run only then
    }
    if (i % 20_000 === 0) say(`dropped ${i}/${cycles}`);
  }
  return { max, sum };
}

/** Runs one worker; rejects if it fails. */
function runWorker(data) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: data });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`a worker exited with ${code}`))));
  });
}

async function workersPhase() {
  let max;
  const range = size / WORKERS;
  for (let round = 1; round <= rounds; round++) {
    const value = (k) => ((round * WORKERS + k) % 254) + 1;
    await Promise.all(
      Array.from({ length: WORKERS }, (_, k) =>
        runWorker({ file, from: k * range, to: (k + 1) * range, value: value(k), unmap: (round + k) % 2 === 0 }),
      ),
    );
    const bytes = fs.readFileSync(file);
    for (let k = 0; k < WORKERS; k++) {
      const wrong = bytes.subarray(k * range, (k + 1) * range).findIndex((b) => b !== value(k));
      if (wrong >= 0)
        throw new Error(`round ${round}: byte ${k * range + wrong} is ${bytes[k * range + wrong]}, not ${value(k)}`);
    }
    max = peak(max, measure(file));
    if (round % 5 === 0) say(`workers: round ${round}/${rounds} (${WORKERS} workers each), every byte in place`);
  }
  return { max };
}

/** What is wrong with `after` against `base`; empty when nothing. `workers`: how many worker threads ran. */
function check(base, after, workers) {
  const problems = [];
  const more = (key) => after[key] - base[key];
  const lines = tolerance.lines + (backend === "koffi" ? workers * tolerance.linesPerKoffiWorker : 0);
  const rss = backend === "fallback" ? tolerance.fallbackRssMiB : tolerance.rssMiB;
  if (after.ofFile !== 0) problems.push(`${after.ofFile} mappings of the file left`);
  if (after.live !== 0 || after.retired !== 0)
    problems.push(`the backend counts ${after.live} live, ${after.retired} retired`);
  if (more("fds") > tolerance.fds) problems.push(`${more("fds")} more descriptors`);
  if (more("lines") > lines) problems.push(`${more("lines")} more mappings (> ${lines})`);
  if (more("rssMiB") > rss) problems.push(`${more("rssMiB")} MiB more resident (> ${rss})`);
  if (more("buffersMiB") > tolerance.buffersMiB)
    problems.push(`${more("buffersMiB")} MiB more buffer memory (> ${tolerance.buffersMiB})`);
  return problems;
}

// Warm-up: stdout opened, the code paths compiled, the heap grown to its working size, then the baseline.
say(`warming up (pid ${process.pid}, ${process.version ?? ""})`);
for (let i = 0; i < 2000; i++) touchOne(i)[0].unmap();
await settle();
const base = measure(file);
say(`baseline ${JSON.stringify(base)}`);
const phases = [];
for (const [name, run, workers] of [
  ["map/touch/unmap", cyclesPhase, 0],
  ["dropped maps", droppedPhase, 0],
  ["worker threads", workersPhase, rounds * WORKERS],
]) {
  const start = Date.now();
  let result;
  let problems;
  try {
    result = await run();
    await settle();
    result.after = measure(file);
    problems = check(base, result.after, workers);
  } catch (error) {
    result = {};
    problems = [String(error?.stack ?? error)];
  }
  const seconds = (Date.now() - start) / 1000;
  say(`${name}: ${seconds.toFixed(1)} s, ${problems.length ? `FAILED: ${problems.join("; ")}` : "ok"}`);
  phases.push({ name, seconds, max: result.max, after: result.after, problems });
}
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });
console.log(`RESULT ${JSON.stringify({ backend, cycles, rounds, workers: WORKERS, tolerance, base, phases })}`);
