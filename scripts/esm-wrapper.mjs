#!/usr/bin/env node
/**
 * Writes the ESM entry of the library, `<dist>/index.js`, as a thin wrapper
 * over the one real build, `<dist>/index.cjs`: it imports the CommonJS module
 * and re-exports each of its names, so there is one copy of the library in a
 * process however it is loaded. Also copies the declarations index.d.cts to
 * index.d.ts (the same API). Runs after tsup (`npm run build:lib`, the matrix
 * stage, prepack).
 *
 * Usage: node scripts/esm-wrapper.mjs [dist folder, default dist]
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

const dist = path.resolve(process.argv[2] ?? "dist");
const cjs = path.join(dist, "index.cjs");
// Loading the library has no side effects beyond defining it (the backend is chosen on first use).
const names = Object.keys(createRequire(import.meta.url)(cjs)).sort();
if (names.length === 0 || !names.includes("MMap")) throw new Error(`${cjs} exports ${names.join(", ") || "nothing"}`);
const lines = [
  "// The ESM entry: a wrapper over index.cjs, the one build of the library (scripts/esm-wrapper.mjs).",
  'import library from "./index.cjs";',
  "",
  `export const {\n${names.map((name) => `  ${name},`).join("\n")}\n} = library;`,
  "",
];
fs.writeFileSync(path.join(dist, "index.js"), lines.join("\n"));
const declarations = path.join(dist, "index.d.cts");
if (fs.existsSync(declarations)) fs.copyFileSync(declarations, path.join(dist, "index.d.ts"));
console.log(
  `ESM wrapper: ${path.relative(process.cwd(), path.join(dist, "index.js"))} re-exports ${names.length} names`,
);
