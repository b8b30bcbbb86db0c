#!/usr/bin/env node
// `npm run test:soak`: resources come back. For each available backend, in a
// process of its own (scripts/soak/child.mjs, with --expose-gc), on the built
// dist/: 100,000 map/touch/unmap cycles, 100,000 maps dropped without unmap(),
// and rounds of worker threads writing disjoint ranges of one file; after each
// phase, once garbage is collected, the process's mappings (all of them, those
// of the file, the backend's own count), descriptors and resident memory must
// be back at their baseline within the tolerance the child states. Progress as
// it goes, a table at the end; exit status 1 if anything did not come back.
// Linux only (it reads /proc). PORTABLE_MMAP_BACKEND=<names> soaks only those;
// PORTABLE_MMAP_SOAK_CYCLES and PORTABLE_MMAP_SOAK_WORKER_ROUNDS change the sizes.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { backendInfo } from "../dist/index.js";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "soak", "child.mjs");

if (process.platform !== "linux") {
  console.log(
    `soak: not run on ${process.platform}: it counts mappings and descriptors through /proc, which only Linux has`,
  );
  process.exit(0);
}

/** Runs one backend's soak, echoing its progress; resolves with its RESULT, or the reason it has none. */
function soak(backend) {
  return new Promise((resolve) => {
    const started = spawn(process.execPath, ["--expose-gc", child], {
      env: { ...process.env, PORTABLE_MMAP_BACKEND: backend },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let result;
    createInterface({ input: started.stdout }).on("line", (line) => {
      if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7));
      else console.log(line);
    });
    started.on("close", (status, signal) =>
      resolve(
        result ?? { backend, failure: `the soak process ended (${signal ?? `status ${status}`}) without a result` },
      ),
    );
  });
}

const only = (process.env.PORTABLE_MMAP_BACKEND ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const results = [];
for (const b of backendInfo().backends) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  if (!b.available) {
    console.log(`soak: backend ${b.name} is not available here: ${b.reason}`);
    results.push({
      backend: b.name,
      failure: only.includes(b.name) ? `not available: ${b.reason}` : undefined,
      skipped: b.reason,
    });
    continue;
  }
  console.log(`soak: backend ${b.name}`);
  results.push(await soak(b.name));
}

const span = (base, max, after) => `${base} → ${max ?? "-"} → ${after ?? "-"}`;
const rows = [
  [
    "backend",
    "phase",
    "s",
    "maps: base → peak → after",
    "of file peak/after",
    "live/retired peak → after",
    "fds Δ",
    "RSS MiB: base → peak → after",
    "buffers MiB peak/after",
    "result",
  ],
];
let failed = false;
for (const r of results) {
  if (r.skipped !== undefined || r.failure !== undefined) {
    failed ||= r.failure !== undefined;
    rows.push([r.backend, "-", "", "", "", "", "", "", "", r.failure ?? `not available: ${r.skipped}`]);
    continue;
  }
  for (const p of r.phases) {
    const { max = {}, after = {} } = p;
    failed ||= p.problems.length > 0;
    rows.push([
      r.backend,
      p.name,
      p.seconds.toFixed(1),
      span(r.base.lines, max.lines, after.lines),
      `${max.ofFile ?? "-"}/${after.ofFile ?? "-"}`,
      `${max.live ?? "-"}/${max.retired ?? "-"} → ${after.live ?? "-"}/${after.retired ?? "-"}`,
      String((after.fds ?? Number.NaN) - r.base.fds),
      span(r.base.rssMiB, max.rssMiB, after.rssMiB),
      `${max.buffersMiB ?? "-"}/${after.buffersMiB ?? "-"}`,
      p.problems.length ? `FAIL: ${p.problems.join("; ")}` : "ok",
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log(
  `\n# soak: ${results.find((r) => r.cycles)?.cycles ?? "-"} cycles per phase; tolerance ${JSON.stringify(results.find((r) => r.tolerance)?.tolerance ?? {})}`,
);
for (const row of rows) console.log(`| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`);
console.log(failed ? "soak: FAILED" : "soak: every resource came back");
process.exitCode = failed ? 1 : 0;
