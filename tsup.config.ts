import { defineConfig } from "tsup";

// The library: ESM + CJS + declarations, one bundle per entry. `shims` gives
// the CJS build `import.meta.url`, which the backends use to find the package root.
export default defineConfig({
  entry: { index: "src/index.ts", cli: "src/cli.ts" },
  format: ["esm", "cjs"],
  // stripInternal: what is marked @internal (the backend contract, MMapInit) stays out of the published types.
  dts: { entry: { index: "src/index.ts" }, compilerOptions: { stripInternal: true } },
  target: "node20",
  platform: "node",
  shims: true,
  clean: true,
  sourcemap: true,
  splitting: false,
});
