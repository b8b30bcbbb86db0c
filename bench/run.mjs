#!/usr/bin/env node
/**
 * `npm run bench`: every scenario of bench/scenarios, each contender side by
 * side in one run (warm-up, then interleaved rounds; medians and spread),
 * printing progress and each table as it goes; then the targets, PASS or
 * FAIL, and (after a full run) docs/performance.md with its SVG charts and
 * the README's quoted numbers, all generated from this run.
 *
 * Exits 0 when every target passed, 1 when one failed or could not be
 * measured here, 2 when the benchmark cannot run at all.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, usage } from "./lib/args.mjs";
import { specFactory } from "./lib/contenders.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { findPeers } from "./lib/peers.mjs";
import { quoteInReadme } from "./lib/readme.mjs";
import { printSection, writeReport } from "./lib/report.mjs";
import firstTouch from "./scenarios/first-touch.mjs";
import flush from "./scenarios/flush.mjs";
import mapCycle from "./scenarios/map-cycle.mjs";
import memory from "./scenarios/memory.mjs";
import randomRead from "./scenarios/random-read.mjs";
import scan from "./scenarios/scan.mjs";
import sharedCounter from "./scenarios/shared-counter.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const scenarios = [mapCycle, randomRead, scan, firstTouch, flush, memory, sharedCounter];

const sizeLabel = (bytes) =>
  bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes / 1024} KiB`;
const clock = (since) => {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${error.message}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    console.log(usage);
    return 0;
  }
  if (options.list) {
    for (const s of scenarios) console.log(`${s.name.padEnd(15)} ${s.title}`);
    return 0;
  }
  const unknown = options.only.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length) {
    console.error(`no scenario named ${unknown.join(", ")}; --list shows them`);
    return 2;
  }
  if (!existsSync(join(root, "dist", "index.js"))) {
    console.error("dist/index.js is missing: run `npm run build` first (npm run bench does)");
    return 2;
  }
  const chosen = options.only.length ? scenarios.filter((s) => options.only.includes(s.name)) : scenarios;
  const full = !options.quick && !options.only.length;
  const write = options.write ?? full;
  const started = Date.now();
  const log = (line) => console.log(line);
  let workDir;
  try {
    workDir = mkdtempSync(join(tmpdir(), "portable-mmap-bench-"));
  } catch (error) {
    console.error(`cannot make a temporary folder in ${tmpdir()} (set TMPDIR to another): ${error.message}`);
    return 2;
  }
  // Interrupted (Ctrl-C, kill, a closed terminal): the big files go too. The children end with their stdin.
  const stop = (signal) => {
    rmSync(workDir, { recursive: true, force: true });
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal] ?? 0));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.once(signal, stop);
  try {
    log(`portable-mmap benchmark${options.quick ? " (--quick)" : ""}: ${chosen.map((s) => s.name).join(", ")}`);
    log("finding the peers (C, Python, Bun, the Node-API floor, @riaskov/mmap-io)...");
    const peers = findPeers({ root, here, workDir, log });
    for (const [name, why] of Object.entries(peers.missing)) log(`  no ${name}: ${why}`);
    const machine = describeMachine(peers);
    log(`${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}`);
    const ctx = {
      workDir,
      log,
      quick: options.quick,
      scale: options.quick ? 1 / 16 : 1,
      bigFile: options.quick ? 64 * 2 ** 20 : 2 ** 30,
      warmup: 1,
      rounds: options.rounds ?? (options.quick ? 3 : 5),
      peers,
      specs: specFactory({ here, peers }),
      sizeLabel,
    };
    const results = [];
    for (const [i, scenario] of chosen.entries()) {
      const at = Date.now();
      log(`\n[${i + 1}/${chosen.length}] ${scenario.title} (${scenario.name}), at ${clock(started)}`);
      let outcome;
      try {
        outcome = await scenario.run(ctx);
      } catch (error) {
        // A contender that misbehaves ends its scenario, not the run: reported as a failed target.
        log(`  FAILED: ${error.message}`);
        outcome = {
          sections: [],
          targets: [{ text: "the scenario ran to the end", verdict: "FAIL", measured: error.message }],
        };
      }
      for (const section of outcome.sections) printSection(section, log);
      for (const line of outcome.analysis ?? []) log(`  ${line}`);
      for (const t of outcome.targets) log(`  ${t.verdict.padEnd(12)} ${t.text}: ${t.measured}`);
      results.push({ scenario, ...outcome, seconds: (Date.now() - at) / 1000 });
      log(`  (${Math.round((Date.now() - at) / 1000)} s)`);
    }
    const targets = results.flatMap((r) => r.targets);
    const failed = targets.filter((t) => t.verdict !== "PASS");
    log(`\n${targets.length - failed.length} of ${targets.length} targets passed in ${clock(started)}`);
    for (const t of failed) log(`  ${t.verdict}: ${t.text}: ${t.measured}`);
    if (write) {
      const command = `npm run bench${options.quick ? " -- --quick" : ""}`;
      const intro = readFileSync(join(here, "report-intro.md"), "utf8").trimEnd().split("\n");
      writeReport({
        docsDir: join(root, "docs"),
        machine,
        results,
        intro,
        command,
        seconds: (Date.now() - started) / 1000,
      });
      quoteInReadme(join(root, "README.md"), results);
      log("wrote docs/performance.md, docs/performance/*.svg and the README's numbers");
    } else log("docs/performance.md left as it was (it is rewritten after a full run, or with --write)");
    return failed.length ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
