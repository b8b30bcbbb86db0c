/**
 * `npm test`'s runner: the unit tests, the documentation site in Chromium
 * (test/site/), then the conformance suite once per backend, each in its own
 * process with PORTABLE_MMAP_BACKEND set.
 *
 * - A backend that is not available here is reported with the reason, never
 *   passed over silently.
 * - PORTABLE_MMAP_REQUIRE=native,koffi (comma list) fails the run if a listed
 *   backend is not available, so CI cannot test less than it claims.
 * - PORTABLE_MMAP_BACKEND=<name> (or a comma list) runs the suite for those backends only.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo } from "portable-mmap";

const here = path.dirname(fileURLToPath(import.meta.url));

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Runs one built test file in a child process (with `options` for the runtime), echoing its output, and reads its closing counts. */
function runFile(
  file: string,
  env: Record<string, string>,
  options: string[] = [],
): Promise<Counts & { status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...options, path.join(here, file)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (status) => {
      const last = [...output.matchAll(/^\S+: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)].at(-1);
      resolve({
        status,
        passed: Number(last?.[1] ?? 0),
        failed: last ? Number(last[2]) : 1,
        skipped: Number(last?.[3] ?? 0),
      });
    });
  });
}

/** The names in a comma-list environment variable. */
function names(variable: string): string[] {
  return (process.env[variable] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

const required = names("PORTABLE_MMAP_REQUIRE");
const only = names("PORTABLE_MMAP_BACKEND");
const info = backendInfo();
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const rows: string[] = [];

function add(label: string, counts: Counts & { status: number | null }): void {
  // A child that crashed or exited non-zero without failing a test still fails the run.
  const failed = counts.failed + (counts.status !== 0 && counts.failed === 0 ? 1 : 0);
  total.passed += counts.passed;
  total.failed += failed;
  total.skipped += counts.skipped;
  rows.push(`${label.padEnd(24)} ${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped`);
}

for (const [variable, list] of [
  ["PORTABLE_MMAP_REQUIRE", required],
  ["PORTABLE_MMAP_BACKEND", only],
] as const) {
  for (const name of list) {
    if (!info.backends.some((b) => b.name === name)) {
      console.error(`${variable} names an unknown backend: ${name}`);
      total.failed++;
    }
  }
}

// --expose-gc: the unit tests of what happens to a dropped map collect garbage themselves.
add("unit", await runFile("unit.js", {}, ["--expose-gc"]));
add("site", await runFile("site.js", {}));

for (const backend of info.backends) {
  if (only.length > 0 && !only.includes(backend.name)) continue;
  if (!backend.available) {
    const needed = required.includes(backend.name);
    console.log(`# backend ${backend.name} is not available here: ${backend.reason}${needed ? " (required!)" : ""}`);
    rows.push(`${`conformance[${backend.name}]`.padEnd(24)} not available: ${backend.reason}`);
    if (needed) total.failed++;
    continue;
  }
  console.log(`# conformance suite, backend ${backend.name}`);
  add(`conformance[${backend.name}]`, await runFile("conformance.js", { PORTABLE_MMAP_BACKEND: backend.name }));
}

console.log("\n# summary");
for (const row of rows) console.log(`# ${row}`);
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exitCode = total.failed > 0 ? 1 : 0;
