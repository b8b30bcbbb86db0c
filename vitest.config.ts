/**
 * The suite under vitest on Node (`npm run test:watch`, `npm run coverage`).
 * The test files import describe/test from "vitest"; the bundled suite that
 * every other runtime runs (`npm test`, the matrix) maps "vitest" to
 * test/harness.ts instead (tsup.test.config.ts), so the one suite runs everywhere.
 *
 * - "portable-mmap" is src/index.ts here, so coverage maps to the TypeScript
 *   sources. The suite's children and workers still run from build/test and
 *   dist, so build first (`npm run build:lib && npm run build:tests`).
 * - One project for the unit tests and one per backend for the conformance
 *   suite, each with PORTABLE_MMAP_BACKEND set (and PORTABLE_MMAP_REQUIRE, so a
 *   backend that does not load fails its project instead of testing another).
 * - Files run one at a time and the projects one after the other: the machine
 *   limits (RLIMIT, maps, descriptors) and timings some tests measure are
 *   shared, as in the bundled suite, which runs everything in sequence.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const root = path.dirname(fileURLToPath(import.meta.url));
const alias = { "portable-mmap": path.join(root, "src/index.ts") };

/** The conformance suite against one backend. */
function conformance(backend: string, order: number): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name: `conformance-${backend}`,
      include: ["test/conformance/**/*.test.ts"],
      env: { PORTABLE_MMAP_BACKEND: backend, PORTABLE_MMAP_REQUIRE: backend },
      sequence: { groupOrder: order },
    },
  };
}

export default defineConfig({
  resolve: { alias },
  test: {
    pool: "forks",
    fileParallelism: false,
    // The children the tests start (and collect garbage in) get these options too.
    execArgv: ["--expose-gc"],
    // The built package (dist/), where a test loads it by path, is Node's own module, as
    // users get it: not run through vite, which would make a second copy of index.cjs.
    server: { deps: { external: [/\/dist\//] } },
    // Skipped tests with their reasons, after the run (the default reporter shows them only in failed files).
    reporters: ["default", "./test/skip-reasons.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } },
      },
      conformance("native", 1),
      conformance("koffi", 2),
      conformance("fallback", 3),
    ],
    coverage: {
      provider: "v8",
      include: ["src/**"],
      reporter: ["text", "json-summary", "html"],
      reportsDirectory: "coverage",
      // The report (and what is not covered) even when a test fails.
      reportOnFailure: true,
      thresholds: {
        "src/api/**": { lines: 95 },
        "src/backends/native/**": { lines: 85 },
        "src/backends/koffi/!(windows|darwin|freebsd).ts": { lines: 85 },
        "src/backends/fallback/**": { lines: 85 },
      },
    },
  },
});
