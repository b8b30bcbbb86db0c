#!/usr/bin/env node
/**
 * `npm run test:matrix`: the conformance suite, unchanged, against every
 * backend on every target this Linux x64 machine can run (Node 20, 22, 24
 * and 26; Bun; Deno; win32-x64 Node 22 under Wine; linux-arm64 Node 22 under
 * qemu), then one table, target by backend, on stdout and in
 * `matrix-report.json`. Installs what it needs (npm packages with npm,
 * Debian packages with apt-get), cached under `.matrix/`.
 *
 * Usage: node scripts/matrix/run.mjs [--host] [--only <ids>] [--backend <names>] [--report <file>] [--refresh] [--list]
 *   --host      run this host's own runtimes instead (its node; bun and deno if on PATH): for real macOS/Windows/arm64 hosts
 *   --only      comma list of target ids or their beginnings (linux-x64, linux-x64-node22, win32, linux-arm64)
 *   --backend   comma list of backends (native, koffi, fallback); default all three
 *   --report    where the JSON goes (default matrix-report.json)
 *   --refresh   ask npm again for the newest versions (else remembered for a week)
 *   --list      print the targets and exit
 *
 * Exits 1 if any cell that should pass does not (a failure, or a backend that
 * is not available); only the macOS row is "not run". PORTABLE_MMAP_REQUIRE
 * (comma list, as for `npm test`) narrows which backends must be available.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { root, settings } from "./cache.mjs";
import { note, seconds, step, warn } from "./log.mjs";
import { ensurePrebuilds } from "./prebuilds.mjs";
import { backends, failing, table, writeJson } from "./report.mjs";
import { buildStage, useLocalBuild } from "./stage.mjs";
import { runTarget } from "./target-run.mjs";
import { bunTarget } from "./targets/bun.mjs";
import { denoTarget } from "./targets/deno.mjs";
import { hostTargets } from "./targets/host.mjs";
import { macosTarget } from "./targets/macos.mjs";
import { nodeTargets } from "./targets/node.mjs";
import { qemuTarget } from "./targets/qemu.mjs";
import { wineTarget } from "./targets/wine.mjs";

const { values: options } = parseArgs({
  options: {
    only: { type: "string" },
    backend: { type: "string" },
    report: { type: "string", default: path.join(root, "matrix-report.json") },
    refresh: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
    host: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (options.help) {
  console.log(`Usage: node scripts/matrix/run.mjs [--host] [--only <ids>] [--backend <names>] [--report <file>] [--refresh] [--list]
  --host      this host's own runtimes (its node; bun and deno from PATH) instead of the emulated matrix
  --only      comma list of target ids or their beginnings (linux-x64, linux-x64-node22, win32, linux-arm64)
  --backend   comma list of backends (native, koffi, fallback); default all three
  --report    where the JSON goes (default matrix-report.json)
  --refresh   ask npm again for the newest versions (else remembered for a week)
  --list      print the targets and exit`);
  process.exit(0);
}
settings.refresh = options.refresh;

const allTargets = options.host
  ? hostTargets()
  : [...nodeTargets([20, 22, 24, 26]), bunTarget, denoTarget, wineTarget, qemuTarget, macosTarget];
const only = options.only
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const targets = only ? allTargets.filter((t) => only.some((o) => t.id.startsWith(o))) : allTargets;
const wanted = options.backend ? options.backend.split(",").map((s) => s.trim()) : backends;
// Backends that must be available in every row (as for `npm test`): all three unless PORTABLE_MMAP_REQUIRE narrows it.
const required = process.env.PORTABLE_MMAP_REQUIRE
  ? process.env.PORTABLE_MMAP_REQUIRE.split(",").map((s) => s.trim())
  : backends;
for (const b of wanted) if (!backends.includes(b)) throw new Error(`unknown backend ${b}; use ${backends.join(", ")}`);
if (targets.length === 0) throw new Error(`--only ${options.only} matches no target; --list shows them`);

if (options.list) {
  for (const t of allTargets) console.log(`${t.id.padEnd(22)} ${t.label}${t.notRun ? " (not run here)" : ""}`);
  process.exit(0);
}

const start = Date.now();
const runnable = targets.filter((t) => !t.notRun);
const platforms = [...new Set(runnable.map((t) => t.platform))];
console.log(`portable-mmap test matrix: ${targets.map((t) => t.id).join(", ")}; backends ${wanted.join(", ")}`);

// 1. The native addon for every platform, then a snapshot of the package and the suite.
let prebuildWhy = {};
if (wanted.includes("native") && platforms.length) {
  step(`native addon for ${platforms.join(", ")}`);
  prebuildWhy = await ensurePrebuilds(platforms);
}
step("building the library and the suite, snapshot in .matrix/stage");
await buildStage(platforms);
const local = useLocalBuild(`${process.platform}-${process.arch}`);
if (local) {
  note(local);
  delete prebuildWhy[`${process.platform}-${process.arch}`];
}
for (const [p, why] of Object.entries(prebuildWhy)) warn(`native on ${p} will be not available: ${why}`);

// 2. Each target: install its runtime, ask which backends load, run the suite per backend.
const cells = [];
const targetRecords = [];
for (const target of targets) {
  const row = await runTarget(target, { backends: wanted, required, prebuildWhy });
  targetRecords.push(row.record);
  cells.push(...row.cells);
}

// 3. The table and the JSON.
const total = seconds(start);
step("results");
console.log(`\n${table(targetRecords, cells, ["unit", ...wanted])}\n`);
writeJson(options.report, { targets: targetRecords, cells, seconds: total });
const bad = cells.filter(failing);
const passed = cells.filter((c) => c.status === "pass").length;
console.log(`JSON: ${path.relative(process.cwd(), options.report) || options.report}; logs: .matrix/logs/`);
console.log(`matrix: ${passed} passed, ${bad.length} failed, ${cells.length - passed - bad.length} skipped`);
process.exitCode = bad.length ? 1 : 0;
