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
 *
 * - Every test has a time limit, as vitest's `testTimeout` (300 s, or
 *   PORTABLE_MMAP_TEST_TIMEOUT_MS): a test that does not settle by then fails
 *   with a message saying so, and the run goes on with the next test.
 * - A process that ends while a test is pending (its event loop emptied, or
 *   something called `process.exit`) still reports that test as failed and
 *   prints the closing line with the counts so far, and exits with code 1.
 */

/**
 * The part of vitest's API the suite uses, with vitest's signatures:
 * `describe(name, body)`, `test(name, body)`, `afterAll(fn)` and, inside a
 * test, `ctx.skip(note)`.
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
  /** Its own time limit in ms (`afterAll`'s `timeout`), instead of the run's. */
  timeout?: number;
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

/** Functions `afterAll` registered, with the describe prefix they were registered under. */
const afterAllHooks: Case[] = [];

/**
 * Registers `fn` to run after all tests of the run (vitest's `afterAll`; here
 * after every test of `run`, also inside a `describe`). An error in it, or
 * not settling within `timeout` ms, is reported as a failure. A module
 * registering one in a process that never calls `run` (a child of the suite)
 * does not get it called.
 */
export function afterAll(fn: () => unknown, timeout?: number): void {
  const name = fullName(`afterAll${fn.name ? ` (${fn.name})` : ""}`);
  const body = () => {
    const result = fn();
    return result instanceof Promise ? result.then(() => {}) : undefined;
  };
  afterAllHooks.push({ name, body, timeout });
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

/** The time limit of one test in ms: vitest.config.ts's testTimeout, or PORTABLE_MMAP_TEST_TIMEOUT_MS. */
function defaultTimeout(): number {
  // Read only when a run starts: the suite's children load this file too, and on Deno
  // some of them run without permission to read the environment.
  const value = Number(process.env.PORTABLE_MMAP_TEST_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : 300_000;
}

/** Thrown when a test has not settled within its time limit. */
class TimedOut extends Error {}

/**
 * Runs `body`, rejecting with `TimedOut` if it has not settled after `ms`.
 * The timer keeps the process alive while the test is pending (so a test
 * waiting on nothing times out instead of ending the process) and is cleared
 * as soon as the test settles.
 */
async function withTimeout(body: () => void | Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimedOut(`timed out: the test did not settle within ${ms} ms (PORTABLE_MMAP_TEST_TIMEOUT_MS)`)),
      ms,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(body), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every registered test in order, then the `afterAll` functions, and
 * prints the report. Sets `process.exitCode` to 1 if any test failed.
 */
export async function run(label: string, filter?: RegExp): Promise<Report> {
  const report: Report = { label, passed: 0, failed: 0, skipped: 0, results: [] };
  const selected = filter ? cases.filter((c) => filter.test(c.name)) : cases;
  const timeout = defaultTimeout();
  const summary = () => `${label}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`;
  const fail = (name: string, detail: string, ms: number) => {
    report.failed++;
    report.results.push({ name, status: "fail", detail, ms });
    console.log(`not ok - ${name}\n${indent(detail)}`);
  };
  let pending: { name: string; start: number; index: number } | undefined;
  // Without this, a process that ends while a test is pending (its event loop emptied, or
  // process.exit was called) would say nothing at all: Node just exits with code 13.
  const onExit = () => {
    if (!pending) return;
    fail(
      pending.name,
      "the event loop emptied while this test was pending (or the process exited)",
      Date.now() - pending.start,
    );
    const notRun = selected.length - pending.index - 1;
    if (notRun > 0) console.log(`# ${notRun} more tests not run`);
    // The afterAll functions not run yet get called, as far as they work synchronously
    // (removing temporary folders does); what they return is not waited for.
    for (const hook of afterAllHooks.slice(Math.max(0, pending.index + 1 - selected.length))) {
      try {
        const result = hook.body(context);
        if (result instanceof Promise) result.catch(() => {});
      } catch (error) {
        fail(hook.name, error instanceof Error ? (error.stack ?? error.message) : String(error), 0);
      }
    }
    console.log(summary());
    process.exitCode = 1;
  };
  process.on("exit", onExit);
  console.log(`# ${label}: ${selected.length} tests`);
  const all = [...selected, ...afterAllHooks];
  for (const [index, c] of all.entries()) {
    const start = Date.now();
    pending = { name: c.name, start, index };
    try {
      await withTimeout(() => c.body(context), c.timeout ?? timeout);
      pending = undefined;
      // An afterAll that succeeds is not a test: only its failure shows.
      if (index >= selected.length) continue;
      report.passed++;
      report.results.push({ name: c.name, status: "pass", ms: Date.now() - start });
      console.log(`ok - ${c.name}`);
    } catch (error) {
      pending = undefined;
      if (error instanceof Skipped) {
        report.skipped++;
        report.results.push({ name: c.name, status: "skip", detail: error.note, ms: 0 });
        console.log(`ok - ${c.name} # SKIP ${error.note}`);
        continue;
      }
      const detail =
        error instanceof TimedOut
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
      fail(c.name, detail, Date.now() - start);
    }
  }
  process.off("exit", onExit);
  console.log(summary());
  if (report.failed > 0) process.exitCode = 1;
  return report;
}
