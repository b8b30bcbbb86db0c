#!/usr/bin/env node
/**
 * Map + touch one byte + unmap of a 4 KiB region of a page-cached file, in a
 * loop: every available backend through the public `mapRegion` of the built
 * `dist/index.js`, against the same loop in C (`bench/map-cycle.c`, compiled
 * here with `cc -O2`: the physical limit on this host).
 *
 * Also measured, for reference: the "N-API floor", the same cycle done all in C
 * by a bench-only addon (`bench/floor`, built here with node-gyp) plus the
 * external ArrayBuffer it must create and detach per map, and the one system
 * call the lifetime rules add (the pages replaced in place before the range is
 * given back): no backend that hands out mapped memory through Node-API and
 * keeps those rules can be faster than that.
 *
 * Each contender is a long-lived child process (one per backend, selected with
 * PORTABLE_MMAP_BACKEND) that runs one repetition per request; the parent runs
 * warm-up repetitions, then rounds that visit every contender in turn, so that
 * drift of a shared machine hits all of them alike. Reported: the median
 * ns/cycle of each, and its ratios to C's and to the N-API floor's. Exits 1
 * if a target is missed (native <= 1.25x C, koffi <= 1.5x C), 2 if it cannot
 * run.
 *
 * Usage: node bench/map-cycle.mjs [--rounds N] [--cycles N] [--warmup N]
 * Environment: CC (default cc).
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const REGION = 4096;
/** ratio targets to the C loop; backends without one are reported only. */
const targets = { native: 1.25, koffi: 1.5 };
const backends = ["native", "koffi", "fallback"];
const FLOOR = "N-API floor";

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer`);
  return value;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Child mode: one backend through the public API; one repetition per input line. */
async function worker(name, file, cycles) {
  const api = await import(pathToFileURL(join(root, "dist", "index.js")).href);
  const info = api.backendInfo();
  if (info.selected !== name) {
    const reason = info.backends.find((b) => b.name === name)?.reason || info.error || `selected ${info.selected}`;
    process.stdout.write(`unavailable ${reason.replace(/\s+/g, " ")}\n`);
    return;
  }
  const { mapRegion } = api;
  const fd = openSync(file, "r");
  const yieldNow = () => new Promise((resolve) => setImmediate(resolve));
  let sink = 0;
  process.stdout.write("ready\n");
  for await (const _ of createInterface({ input: process.stdin })) {
    const start = process.hrtime.bigint();
    for (let i = 1; i <= cycles; i++) {
      const m = mapRegion(fd, REGION);
      sink += m[0];
      m.unmap();
      // Let the event loop run now and then, as a program would: Node runs
      // the finalizers of detached buffers there, and that is part of the cost.
      if ((i & 1023) === 0) await yieldNow();
    }
    await yieldNow();
    const ns = Number(process.hrtime.bigint() - start) / cycles;
    process.stdout.write(`${ns.toFixed(1)}\n`);
  }
  closeSync(fd);
  if (sink < 0) console.log(sink);
}

/** Builds the floor addon (bench/floor) with node-gyp unless it is built; returns its path or why not. */
function buildFloor() {
  const dir = join(here, "floor");
  const built = join(dir, "build", "Release", "floor.node");
  if (existsSync(built)) return { built };
  const nodeGyp = join(root, "node_modules", "node-gyp", "bin", "node-gyp.js");
  try {
    execFileSync(process.execPath, [nodeGyp, "rebuild", "--directory", dir], { stdio: ["ignore", "ignore", "pipe"] });
    return { built };
  } catch (error) {
    return {
      why: `node-gyp could not build bench/floor: ${String(error.stderr ?? error.message)
        .trim()
        .split("\n")
        .at(-1)}`,
    };
  }
}

/** Child mode: the floor addon's all-C cycle with an external ArrayBuffer per map. */
async function floorWorker(file, cycles) {
  const require = createRequire(import.meta.url);
  let addon;
  try {
    addon = require(join(here, "floor", "build", "Release", "floor.node"));
  } catch (error) {
    process.stdout.write(`unavailable ${String(error.message).replace(/\s+/g, " ")}\n`);
    return;
  }
  const fd = openSync(file, "r");
  if (addon.floorCycles(fd, 1) < 0) {
    process.stdout.write("unavailable the floor cycle failed here\n");
    return;
  }
  const yieldNow = () => new Promise((resolve) => setImmediate(resolve));
  process.stdout.write("ready\n");
  for await (const _ of createInterface({ input: process.stdin })) {
    const start = process.hrtime.bigint();
    for (let done = 0; done < cycles; done += 1024) {
      addon.floorCycles(fd, Math.min(1024, cycles - done));
      await yieldNow(); // Node runs the finalizers of the detached buffers here
    }
    process.stdout.write(`${(Number(process.hrtime.bigint() - start) / cycles).toFixed(1)}\n`);
  }
  closeSync(fd);
}

/** A long-lived child answering one line per request line. */
function contender(name, command, args, env) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${name}: child exited (code ${child.exitCode})`);
    return value;
  };
  return {
    name,
    samples: [],
    next,
    async run() {
      child.stdin.write("run\n");
      const line = await next();
      const ns = Number(line);
      if (!Number.isFinite(ns)) throw new Error(`${name}: unexpected output ${JSON.stringify(line)}`);
      return ns;
    },
    close() {
      child.stdin.end();
    },
  };
}

async function main() {
  const rounds = option("rounds", 9);
  const cycles = option("cycles", 20000);
  const warmup = option("warmup", 2);
  const dist = join(root, "dist", "index.js");
  if (!existsSync(dist)) {
    console.error(`${dist} is missing: run \`npm run build:lib\` first`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), "portable-mmap-bench-"));
  try {
    const file = join(dir, "data.bin");
    writeFileSync(file, Buffer.alloc(64 * 1024, 7));
    readFileSync(file); // page-cached

    const exe = join(dir, "map-cycle");
    const cc = process.env.CC || "cc";
    try {
      execFileSync(cc, ["-O2", "-o", exe, join(here, "map-cycle.c")], { stdio: "inherit" });
    } catch (error) {
      console.error(`cannot compile the C baseline with ${cc}: ${error.message}`);
      return 2;
    }
    console.log(`map + touch + unmap of ${REGION} B: ${rounds} rounds x ${cycles} cycles, ${warmup} warm-up reps each`);

    const contenders = [contender("C (cc -O2)", exe, [file, String(cycles)], {})];
    const unavailable = [];
    const floorBuild = process.platform === "win32" ? { why: "POSIX only" } : buildFloor();
    if (floorBuild.why) unavailable.push(`${FLOOR}: ${floorBuild.why}`);
    for (const name of [...(floorBuild.built ? [FLOOR] : []), ...backends]) {
      const mode = name === FLOOR ? "--floor" : "--worker";
      const script = fileURLToPath(import.meta.url);
      const env = { PORTABLE_MMAP_BACKEND: name === FLOOR ? "" : name };
      const c = contender(name, process.execPath, [script, mode, name, file, String(cycles)], env);
      const first = await c.next().catch((error) => `unavailable ${error.message}`);
      if (first === "ready") contenders.push(c);
      else {
        unavailable.push(`${name}: ${first.replace(/^unavailable /, "")}`);
        c.close();
      }
    }
    for (const line of unavailable) console.log(`  not available: ${line}`);

    for (const c of contenders) {
      for (let i = 0; i < warmup; i++) await c.run();
    }
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so that no contender always runs right after another.
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
      const parts = [];
      for (const c of order) {
        const ns = await c.run();
        c.samples.push(ns);
        parts.push(`${c.name} ${ns.toFixed(0)}`);
      }
      console.log(`  round ${round + 1}/${rounds}: ${parts.join(", ")} ns/cycle`);
    }
    for (const c of contenders) c.close();

    const base = median(contenders[0].samples);
    const floor = contenders.find((c) => c.name === FLOOR);
    const floorNs = floor ? median(floor.samples) : undefined;
    let missed = false;
    console.log("");
    console.log(
      `${"contender".padEnd(13)} ${"ns/cycle".padStart(9)} ${"vs C".padStart(7)} ${"vs floor".padStart(9)}  target`,
    );
    for (const c of contenders) {
      const ns = median(c.samples);
      const ratio = ns / base;
      const target = targets[c.name];
      let verdict = "";
      if (target !== undefined) {
        const ok = ratio <= target;
        missed ||= !ok;
        verdict = `vs C <= ${target.toFixed(2)}x ${ok ? "ok" : "MISSED"}`;
      }
      const vsFloor = floorNs === undefined || c === contenders[0] ? "" : `${(ns / floorNs).toFixed(2)}x`;
      const cells = [
        c.name.padEnd(13),
        ns.toFixed(0).padStart(9),
        `${ratio.toFixed(2)}x`.padStart(7),
        vsFloor.padStart(9),
      ];
      console.log(`${cells.join(" ")}  ${verdict}`);
    }
    return missed ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--worker") {
  await worker(process.argv[3], process.argv[4], Number(process.argv[5]));
} else if (process.argv[2] === "--floor") {
  await floorWorker(process.argv[4], Number(process.argv[5]));
} else {
  process.exitCode = await main();
}
