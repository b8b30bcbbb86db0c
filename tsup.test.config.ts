import * as path from "node:path";
import { defineConfig } from "tsup";

// The tests, bundled to plain JavaScript so any runtime (Node of any version,
// Bun, Deno, Node under Wine or qemu) runs them without a TypeScript loader.
// They import the package by its name; that resolves to the built `dist/`, so
// the suite tests exactly what is published.
export default defineConfig({
  entry: {
    run: "test/run.ts",
    unit: "test/unit/main.ts",
    conformance: "test/conformance/main.ts",
    child: "test/conformance/child.ts",
    worker: "test/conformance/worker.ts",
    site: "test/site/main.ts",
  },
  outDir: "build/test",
  format: ["esm"],
  target: "node20",
  platform: "node",
  shims: true,
  clean: true,
  splitting: false,
  // package.json says "sideEffects": false (for bundlers of the library); the suite's
  // `import "./x.test.js"` exist for their side effects, so the bundle must keep them.
  esbuildOptions(options) {
    options.ignoreAnnotations = true;
  },
  // The site check drives Chromium through playwright-core, loaded from node_modules as it is.
  external: ["playwright-core"],
  esbuildPlugins: [
    {
      name: "package-from-dist",
      setup(build) {
        build.onResolve({ filter: /^portable-mmap$/ }, () => ({ path: "../../dist/index.js", external: true }));
      },
    },
    {
      // The test files import describe and test from "vitest", which runs them on
      // Node (vitest.config.ts); the bundled suite gets our own runner instead,
      // test/harness.ts, which has the same signatures and needs nothing but the runtime.
      name: "vitest-to-harness",
      setup(build) {
        build.onResolve({ filter: /^vitest$/ }, () => ({ path: path.resolve("test/harness.ts") }));
      },
    },
  ],
});
