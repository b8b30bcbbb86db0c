/**
 * A small test runner that needs nothing but the runtime: the same built
 * suite runs unchanged on Node (any version), Bun, Deno, under Wine and under
 * qemu. Assertions come from `node:assert/strict`, which all of them have.
 *
 * Output is TAP-like, one line per test, and ends with a line
 * `<label>: N passed, N failed, N skipped`. A skipped test always prints why.
 *
 * The test files import `describe` and `test` from "vitest" (vitest.config.ts
 * runs them so on Node); the bundle maps "vitest" to this file.
 */

/**
 * The part of vitest's API the suite uses, with vitest's signatures:
 * `describe(name, body)`, `test(name, body)` and, inside a test, `ctx.skip(note)`.
 * `tsup.test.config.ts` resolves `"vitest"` to this file in the bundled suite.
 */

/** What a test body receives: vitest's `TestContext`, as far as the suite uses it. */
export interface TestContext {
  /** Ends the test as skipped; `note` is the reason printed in the report. */
  skip(note?: string): never;
}

type Body = (context: TestContext) => void | Promise<void>;

interface Case {
  name: string;
  body: Body;
}

/** Thrown by `context.skip`: the test is skipped, with `note` as the reason. */
class Skipped extends Error {
  constructor(readonly note: string) {
    super(`skipped: ${note}`);
  }
}

const context: TestContext = {
  skip(note?: string): never {
    throw new Skipped(note ?? "no reason given");
  },
};

const cases: Case[] = [];
const prefixes: string[] = [];

/** Groups tests under a common name prefix. */
export function describe(name: string, body: () => void): void {
  prefixes.push(name);
  try {
    body();
  } finally {
    prefixes.pop();
  }
}

function fullName(name: string): string {
  return [...prefixes, name].join(" > ");
}

/** Registers a test. */
export function test(name: string, body: Body): void {
  cases.push({ name: fullName(name), body });
}

/** The outcome of one run: counts plus one record per test. */
export interface Report {
  label: string;
  passed: number;
  failed: number;
  skipped: number;
  results: { name: string; status: "pass" | "fail" | "skip"; detail?: string; ms: number }[];
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}

/**
 * Runs every registered test in order and prints the report. Sets
 * `process.exitCode` to 1 if any test failed.
 */
export async function run(label: string, filter?: RegExp): Promise<Report> {
  const report: Report = { label, passed: 0, failed: 0, skipped: 0, results: [] };
  const selected = filter ? cases.filter((c) => filter.test(c.name)) : cases;
  console.log(`# ${label}: ${selected.length} tests`);
  for (const c of selected) {
    const start = Date.now();
    try {
      await c.body(context);
      report.passed++;
      report.results.push({ name: c.name, status: "pass", ms: Date.now() - start });
      console.log(`ok - ${c.name}`);
    } catch (error) {
      if (error instanceof Skipped) {
        report.skipped++;
        report.results.push({ name: c.name, status: "skip", detail: error.note, ms: 0 });
        console.log(`ok - ${c.name} # SKIP ${error.note}`);
        continue;
      }
      report.failed++;
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      report.results.push({ name: c.name, status: "fail", detail, ms: Date.now() - start });
      console.log(`not ok - ${c.name}\n${indent(detail)}`);
    }
  }
  console.log(`${label}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  if (report.failed > 0) process.exitCode = 1;
  return report;
}
