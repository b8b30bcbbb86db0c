import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

// The library is built once, as CommonJS: dist/index.cjs, and dist/cli.cjs
// for the command line, which share one chunk (splitting), so the CLI runs the
// same module instance as a program that requires the package. dist/index.js,
// the ESM entry, is a thin wrapper over index.cjs written afterwards by
// scripts/esm-wrapper.mjs (with index.d.ts), so `import` and `require` in one
// process get the same MMap class and one backend selection (Node's advice
// for dual packages). No `shims`: tsup's import.meta.url shim reads
// __filename when the chunk loads, which throws inside an ES-module bundle;
// src/backends/module-location.ts finds the file lazily instead. No source
// maps: they would point at src/, which is not shipped.
export default defineConfig({
  entry: { index: "src/index.ts", cli: "src/cli.ts" },
  format: ["cjs"],
  // stripInternal: what is marked @internal (the backend contract, MMapInit) stays out of the published types.
  dts: { entry: { index: "src/index.ts" }, compilerOptions: { stripInternal: true } },
  target: "node20",
  platform: "node",
  shims: false,
  // The CLI's --version, known without reading package.json (Deno may not be allowed to).
  // import.meta.url does not exist in CommonJS: module-location.ts then uses __filename.
  define: { __PORTABLE_MMAP_VERSION__: JSON.stringify(version), "import.meta.url": "undefined" },
  clean: true,
  sourcemap: false,
  splitting: true,
});
