#!/usr/bin/env node
/**
 * `node scripts/type-tests.mjs` (in `npm test`, after build:lib): the type
 * tests of the published declarations, test/types/. tsc compiles the
 * fixtures against the BUILT types: `import` resolves to dist/index.d.ts,
 * `require` to dist/index.d.cts, as for a user of the package. Every
 * `@ts-expect-error` line must be an error (tsc fails on one that is not).
 * The second project has no type packages at all: the published types must
 * compile without `@types/node`, and this checks that none was loaded.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

for (const built of ["dist/index.d.ts", "dist/index.d.cts"]) {
  if (!existsSync(join(root, built))) {
    console.error(`type tests: ${built} is missing; run npm run build:lib first`);
    process.exit(1);
  }
}

/** Compiles one project; returns the files tsc loaded, or exits with its errors. */
function compile(project) {
  const result = spawnSync(process.execPath, [tsc, "-p", project, "--listFiles", "--pretty", "false"], {
    cwd: root,
    encoding: "utf8",
  });
  const lines = `${result.stdout}${result.stderr}`.split(/\r?\n/).filter(Boolean);
  const errors = lines.filter((line) => /error TS\d+/.test(line));
  if (result.status !== 0 || errors.length > 0) {
    console.error(`type tests: ${project} failed\n${errors.join("\n") || lines.join("\n")}`);
    process.exit(1);
  }
  return lines.map((line) => relative(root, line).replaceAll("\\", "/"));
}

function expectLoaded(project, files, wanted) {
  for (const file of wanted) {
    if (!files.includes(file)) {
      console.error(`type tests: ${project} did not load ${file}; loaded:\n${files.join("\n")}`);
      process.exit(1);
    }
  }
}

const withNode = "test/types/tsconfig.json";
const withNodeFiles = compile(withNode);
expectLoaded(withNode, withNodeFiles, [
  "test/types/esm.ts",
  "test/types/cjs.cts",
  "dist/index.d.ts",
  "dist/index.d.cts",
]);

const noNode = "test/types/tsconfig.no-node.json";
const noNodeFiles = compile(noNode);
expectLoaded(noNode, noNodeFiles, [
  "test/types/no-node.ts",
  "test/types/no-node-cjs.cts",
  "dist/index.d.ts",
  "dist/index.d.cts",
]);
const typePackages = noNodeFiles.filter((file) => file.includes("node_modules/@types/"));
if (typePackages.length > 0) {
  console.error(`type tests: ${noNode} loaded type packages:\n${typePackages.join("\n")}`);
  process.exit(1);
}
if (noNodeFiles.some((file) => /\/lib\.dom\.d\.ts$|\/lib\.esnext\.disposable\.d\.ts$/.test(file))) {
  console.error(`type tests: ${noNode} loaded the DOM or ESNext.Disposable library`);
  process.exit(1);
}

console.log(
  `type tests: ${withNode} (ESM against dist/index.d.ts, CommonJS against dist/index.d.cts) and ${noNode} (no @types/node) compile as expected`,
);
