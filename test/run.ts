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

/** How a child ended: its counts (from its closing line, if it printed one) and its exit. */
interface Outcome extends Counts {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** Whether it printed its closing line with the counts. */
  summarized: boolean;
}

/** Runs one built test file in a child process (with `options` for the runtime), echoing its output, and reads its closing counts. */
function runFile(file: string, env: Record<string, string>, options: string[] = []): Promise<Outcome> {
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
    child.on("close", (status, signal) => {
      const last = [...output.matchAll(/^\S+: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)].at(-1);
      resolve({
        status,
        signal,
        summarized: last !== undefined,
        passed: Number(last?.[1] ?? 0),
        failed: Number(last?.[2] ?? 0),
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

function add(label: string, outcome: Outcome): void {
  // A child that crashed, exited non-zero or printed no counts fails the run, even
  // when its counts show no failure; the passes it did count still count.
  const exit =
    outcome.signal !== null
      ? `killed by ${outcome.signal}`
      : outcome.status !== 0
        ? `exit code ${outcome.status}`
        : undefined;
  const notes = [...(exit ? [exit] : []), ...(outcome.summarized ? [] : ["no closing counts"])];
  const failed = outcome.failed + (notes.length > 0 && outcome.failed === 0 ? 1 : 0);
  total.passed += outcome.passed;
  total.failed += failed;
  total.skipped += outcome.skipped;
  const note = notes.length > 0 ? ` (${notes.join(", ")})` : "";
  rows.push(`${label.padEnd(24)} ${outcome.passed} passed, ${failed} failed, ${outcome.skipped} skipped${note}`);
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
