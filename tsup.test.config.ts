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
  // The site check drives Chromium through playwright-core, loaded from node_modules as it is.
  external: ["playwright-core"],
  esbuildPlugins: [
    {
      name: "package-from-dist",
      setup(build) {
        build.onResolve({ filter: /^portable-mmap$/ }, () => ({ path: "../../dist/index.js", external: true }));
      },
    },
  ],
});
