/**
 * The bundled suite's own runner (test/harness.ts): a test that never settles
 * fails after the time limit and the run goes on; a process that ends while a
 * test is pending still reports it and the counts so far, and exits with 1.
 *
 * The check runs the built unit suite (build/test/unit.js) in a child with
 * PORTABLE_MMAP_HARNESS_SELF_TEST set: there this file registers the tests
 * below that misbehave on purpose, and test/unit/main.ts runs only those.
 * Under vitest, this file's check runs the same built child.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "vitest";
import { withLauncher } from "../launcher.js";
import { testUnless } from "../unless.js";

/** The name prefix of the misbehaving tests: test/unit/main.ts runs only these in the child. */
export const selfTestPrefix = "harness self-test > ";

if (process.env.PORTABLE_MMAP_HARNESS_SELF_TEST) {
  describe("harness self-test", () => {
    test("passes", () => {});
    test("never settles", () => new Promise<void>(() => {}));
    test("exits while pending", () => process.exit(0));
    test("never runs", () => {});
  });
} else {
  /** The built unit suite: this file in the bundle, ../../build/test/unit.js from source. */
  const unitScript = ((here: string) =>
    here.endsWith(".ts") ? path.resolve(path.dirname(here), "../../build/test/unit.js") : here)(
    fileURLToPath(import.meta.url),
  );

  const deno = (globalThis as { Deno?: { execPath(): string; permissions: DenoPermissions } }).Deno;
  interface DenoPermissions {
    querySync(descriptor: { name: string }): { state: string };
  }
  /** The child's runtime and its options: the same runtime (and emulator, PORTABLE_MMAP_TEST_LAUNCHER) as here. */
  function childCommand(): { command: string; args: string[] } {
    return withLauncher(
      deno ? deno.execPath() : process.execPath,
      deno ? ["run", "--allow-all"] : [...process.execArgv],
    );
  }
  const denoReason =
    deno && deno.permissions.querySync({ name: "run" }).state !== "granted"
      ? "this Deno process may not start another"
      : deno && deno.permissions.querySync({ name: "ffi" }).state !== "granted"
        ? "the child needs --allow-all, which this Deno process does not have"
        : undefined;

  describe("harness", () => {
    testUnless(
      denoReason,
      "a test that never settles fails after the time limit; a process exit mid-test is reported",
      () => {
        const { command, args } = childCommand();
        const result = spawnSync(command, [...args, unitScript], {
          env: {
            ...process.env,
            PORTABLE_MMAP_HARNESS_SELF_TEST: "1",
            PORTABLE_MMAP_TEST_TIMEOUT_MS: "200",
            PORTABLE_MMAP_REPORT: "",
          },
          encoding: "utf8",
          timeout: 60_000,
        });
        const output = `${result.stdout}\n--- stderr:\n${result.stderr}`;
        assert.equal(result.status, 1, output);
        const lines = result.stdout.split("\n");
        const expected = [
          "# unit: 4 tests",
          `ok - ${selfTestPrefix}passes`,
          `not ok - ${selfTestPrefix}never settles`,
          "    timed out: the test did not settle within 200 ms (PORTABLE_MMAP_TEST_TIMEOUT_MS)",
          `not ok - ${selfTestPrefix}exits while pending`,
          "    the event loop emptied while this test was pending (or the process exited)",
          "# 1 more tests not run",
          "unit: 1 passed, 2 failed, 0 skipped",
        ];
        assert.deepEqual(
          lines.filter((line) => expected.includes(line)),
          expected,
          output,
        );
      },
    );
  });
}
