/**
 * Runs the conformance suite (`build/test/conformance.js` in the snapshot)
 * for one cell of the matrix: one runtime on one target, one backend; or
 * the unit tests (`build/test/unit.js`), once per target, as its cell
 * "unit". A target describes how to start its runtime with a Launcher:
 *
 *   { runtime: "node" | "bun" | "deno", version, source, command, args, env, path(file), timeoutMs,
 *     probeArgs?, probeNote? }
 *
 * `command args <file>` runs a script; `path` turns a Linux path into the one
 * the runtime sees (Wine: `Z:\...`). Output always goes to a log file (Node
 * under Wine cannot write to a pipe) and is followed while it grows.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { logDir } from "./cache.mjs";
import { runLogged, tail } from "./exec.mjs";
import { note, status, warn } from "./log.mjs";
import { stageDir } from "./stage.mjs";

const reportDir = path.join(path.dirname(logDir), "reports");

/** The environment of a suite run: ours without npm's and the suite's own variables, plus the launcher's. */
function environment(launcher, extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("npm_") || key.startsWith("PORTABLE_MMAP_") || key === "INIT_CWD") continue;
    env[key] = value;
  }
  return { ...env, ...launcher.env, ...extra };
}

function script(name) {
  return path.join(stageDir, "build", "test", name);
}

/**
 * Asks the runtime which backends it can load (`child.js info`, the suite's
 * own child), with `launcher.probeArgs` where given (Deno: only the
 * permissions the library needs). Returns `{ backends: [{ name, available, reason }] }`, or
 * `{ error }` with the reason the runtime could not even answer.
 */
export async function probe(cellId, launcher) {
  const log = path.join(logDir, `${cellId}-probe.log`);
  const args = launcher.probeArgs ?? launcher.args;
  const result = await runLogged(launcher.command, [...args, launcher.path(script("child.js")), "info"], {
    log,
    cwd: stageDir,
    env: environment(launcher, {}),
    timeoutMs: launcher.timeoutMs,
  });
  const line = tail(log, 200)
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  try {
    const parsed = JSON.parse(line ?? "");
    return { backends: parsed.info.backends, selected: parsed.info.selected };
  } catch {
    const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    return {
      error: `the runtime did not start the suite's child (${why}); log ${log}: ${tail(log, 3).replace(/\n/g, " | ")}`,
    };
  }
}

/**
 * Runs the suite for `backend`, showing progress, and returns the cell's
 * counts: { status: "pass" | "fail", passed, failed, skipped, skips, failures, seconds, log }.
 * `backend` "unit" runs the unit tests (`unit.js`) instead of the conformance suite.
 */
export async function runSuite(cellId, label, launcher, backend) {
  // "unit": the unit tests, which choose their backends themselves.
  const unit = backend === "unit";
  const log = path.join(logDir, `${cellId}.log`);
  const reportFile = path.join(reportDir, `${cellId}.json`);
  fs.mkdirSync(reportDir, { recursive: true });
  fs.rmSync(reportFile, { force: true });
  const seen = { total: 0, done: 0, failed: 0, current: "" };
  const started = Date.now();
  const stop = status(
    () =>
      `${label}: ${seen.done}/${seen.total || "?"} tests${seen.failed ? `, ${seen.failed} failed` : ""} (${Math.round((Date.now() - started) / 1000)} s) ${seen.current}`,
  );
  const file = script(unit ? "unit.js" : "conformance.js");
  const reportEnv = { PORTABLE_MMAP_REPORT: launcher.path(reportFile) };
  // The unit tests of dropped maps collect garbage in their own process (Bun has Bun.gc).
  const gc = unit ? ({ node: ["--expose-gc"], deno: ["--v8-flags=--expose-gc"] }[launcher.runtime] ?? []) : [];
  const result = await runLogged(launcher.command, [...launcher.args, ...gc, launcher.path(file)], {
    log,
    cwd: stageDir,
    env: environment(launcher, unit ? reportEnv : { PORTABLE_MMAP_BACKEND: backend, ...reportEnv }),
    timeoutMs: launcher.timeoutMs,
    onLine(line) {
      const header = /^# \S+: (\d+) tests$/.exec(line);
      if (header) seen.total = Number(header[1]);
      else if (line.startsWith("ok - ") || line.startsWith("not ok - ")) {
        seen.done++;
        if (line.startsWith("not")) seen.failed++;
        seen.current = line.replace(/^(not )?ok - /, "").slice(0, 50);
      }
    },
  });
  stop();
  const secs = Math.round(result.seconds * 10) / 10;
  let report;
  try {
    report = JSON.parse(fs.readFileSync(reportFile, "utf8"));
  } catch {
    report = undefined;
  }
  if (!report) {
    // No report: the suite died before its end. Count what the log shows.
    const text = tail(log, 100_000);
    const failures = [...text.matchAll(/^not ok - (.*)$/gm)].map((m) => ({ test: m[1], detail: "" }));
    const why = result.timedOut
      ? `timed out after ${Math.round(launcher.timeoutMs / 1000)} s`
      : `exited with ${result.error ? result.error.message : (result.status ?? result.signal)} before writing its report`;
    failures.push({ test: "(the suite process)", detail: `${why}: ${tail(log, 5)}` });
    warn(`${label}: ${why}; log ${log}`);
    return {
      status: "fail",
      passed: (text.match(/^ok - (?!.*# SKIP)/gm) ?? []).length,
      failed: failures.length,
      skipped: (text.match(/^ok - .*# SKIP/gm) ?? []).length,
      skips: [],
      failures,
      seconds: secs,
      log,
    };
  }
  const skips = report.results.filter((r) => r.status === "skip").map((r) => ({ test: r.name, reason: r.detail }));
  const failures = report.results
    .filter((r) => r.status === "fail")
    .map((r) => ({ test: r.name, detail: String(r.detail ?? "").slice(0, 2000) }));
  // A suite that reports no failure but exits non-zero (a crash at exit) still fails the cell.
  if (result.status !== 0 && failures.length === 0)
    failures.push({
      test: "(the suite process)",
      detail: `exited with ${result.status ?? result.signal}: ${tail(log, 5)}`,
    });
  const cell = {
    status: failures.length === 0 && report.passed > 0 ? "pass" : "fail",
    passed: report.passed,
    failed: failures.length,
    skipped: report.skipped,
    skips,
    failures,
    seconds: secs,
    log,
  };
  note(`${label}: ${cell.passed} passed, ${cell.failed} failed, ${cell.skipped} skipped (${secs} s)`);
  for (const f of failures.slice(0, 5))
    note(`  not ok - ${f.test}\n${indent(f.detail.split("\n").slice(0, 6).join("\n"))}`);
  if (failures.length > 5) note(`  ... and ${failures.length - 5} more failures; log ${log}`);
  return cell;
}

function indent(text) {
  return text
    .split("\n")
    .map((l) => `         ${l}`)
    .join("\n");
}
