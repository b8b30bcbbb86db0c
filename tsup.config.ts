import { defineConfig } from "tsup";

// The library is built once, as CommonJS: dist/index.cjs, and dist/cli.cjs
// for the command line, which share one chunk (splitting), so the CLI runs the
// same module instance as a program that requires the package. dist/index.js,
// the ESM entry, is a thin wrapper over index.cjs written afterwards by
// scripts/esm-wrapper.mjs (with index.d.ts), so `import` and `require` in one
// process get the same MMap class and one backend selection (Node's advice
// for dual packages). `shims` gives the CJS build `import.meta.url`, which the
// backends use to find the package root. No source maps: they would point at
// src/, which is not shipped.
export default defineConfig({
  entry: { index: "src/index.ts", cli: "src/cli.ts" },
  format: ["cjs"],
  // stripInternal: what is marked @internal (the backend contract, MMapInit) stays out of the published types.
  dts: { entry: { index: "src/index.ts" }, compilerOptions: { stripInternal: true } },
  target: "node20",
  platform: "node",
  shims: true,
  clean: true,
  sourcemap: false,
  splitting: true,
});
