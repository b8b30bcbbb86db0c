#!/usr/bin/env node
// `npm run test:pack`: packs the package, installs the tarball into an empty
// project with `npm install --ignore-scripts` (pnpm 10, Bun and Deno block
// dependencies' install scripts, so nothing may compile), then uses it from `import`, from
// `require` and from TypeScript. Prints what it does; exits non-zero on failure.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-pack-"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function step(text) {
  console.log(`\n== ${text}`);
}

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

try {
  step(`npm pack into ${work}`);
  // Lifecycle scripts (prepare: the build) print to stdout too; the JSON report comes last.
  const output = run(npm, ["pack", "--json", "--pack-destination", work], root);
  const [packed] = JSON.parse(output.slice(output.search(/^\[$/m)));
  const files = packed.files.map((f) => f.path);
  console.log(`${packed.filename}: ${files.length} files, ${packed.size} bytes`);
  for (const needed of ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/cli.js"]) {
    if (!files.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }
  const prebuilt = files.filter((f) => f.startsWith("prebuilds/"));
  const hostPrebuild = prebuilt.some((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`));
  console.log(`prebuilt binaries: ${prebuilt.length ? prebuilt.join(", ") : "none"}`);

  // --ignore-scripts: what pnpm 10, Bun and Deno do to dependencies' install scripts by default (npm 11 warns).
  step("npm install <tarball> into an empty project, install scripts blocked");
  const app = path.join(work, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }, null, 2));
  run(npm, ["install", "--ignore-scripts", "--no-audit", "--no-fund", path.join(work, packed.filename)], app);
  const installed = path.join(app, "node_modules", "portable-mmap");
  if (fs.existsSync(path.join(installed, "build"))) throw new Error("a compiler ran at install time (build/ exists)");
  console.log("installed; no build/ folder, so nothing was compiled");

  // With a prebuilt binary for this host in the tarball, native must be selected; else koffi (no compiler needed).
  const expected = hostPrebuild ? "native" : "koffi";
  const check = (backend, via) => {
    if (backend !== expected) throw new Error(`${via}: selected ${backend}, expected ${expected}`);
    console.log(`${via}: works, backend ${backend}`);
  };

  step("use it from require() (CommonJS)");
  fs.writeFileSync(
    path.join(app, "use.cjs"),
    `const fs = require("node:fs");
const { mapFile, RDWR } = require("portable-mmap");
fs.writeFileSync("data.bin", Buffer.alloc(10000, 1));
const m = mapFile("data.bin", { prot: RDWR, offset: 5000 });
m[0] = 2; m.unmap();
if (fs.readFileSync("data.bin")[5000] !== 2 || m.length !== 0) throw new Error("round trip failed");
console.log(m.backend);`,
  );
  check(run(process.execPath, ["use.cjs"], app).trim(), "require");

  step("use it from import (ESM)");
  fs.writeFileSync(
    path.join(app, "use.mjs"),
    `import * as fs from "node:fs";
import { map, RDWR, backendInfo } from "portable-mmap";
fs.writeFileSync("data2.bin", Buffer.alloc(100, 1));
const fd = fs.openSync("data2.bin", "r+");
const m = map(fd, RDWR); m[99] = 3; m.unmap(); fs.closeSync(fd);
if (fs.readFileSync("data2.bin")[99] !== 3) throw new Error("round trip failed");
console.log(backendInfo().selected);`,
  );
  check(run(process.execPath, ["use.mjs"], app).trim(), "import");

  step("type-check a TypeScript user of the package");
  fs.writeFileSync(
    path.join(app, "use.ts"),
    `import { type MMap, mapFile, RDONLY } from "portable-mmap";
const m: MMap = mapFile("data.bin", { prot: RDONLY, length: 10n });
const first: number | undefined = m[0];
m.unmap();
export { first };`,
  );
  run(
    process.execPath,
    [
      path.join(root, "node_modules/typescript/bin/tsc"),
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--skipLibCheck",
      "false",
      "--types",
      "node",
      "--typeRoots",
      path.join(root, "node_modules/@types"),
      "use.ts",
    ],
    app,
  );
  console.log("types: ok");

  step("the README's quick start, compiled with tsc and run as written");
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const quickStart = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!quickStart) throw new Error("no TypeScript block under '## Quick start' in README.md");
  fs.writeFileSync(path.join(app, "readme.mts"), quickStart);
  run(
    process.execPath,
    [
      path.join(root, "node_modules/typescript/bin/tsc"),
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--types",
      "node",
      "--typeRoots",
      path.join(root, "node_modules/@types"),
      "readme.mts",
    ],
    app,
  );
  const printed = run(process.execPath, ["readme.mjs"], app).trim();
  const expectedLine = `999999 ${1_000_001 % (process.platform === "win32" ? 65536 : 4096)} 1`;
  if (printed !== expectedLine)
    throw new Error(`the quick start printed "${printed}", the README says "${expectedLine}"`);
  const data = fs.readFileSync(path.join(app, "data.bin"));
  if (data[0] !== 42 || data.readUInt32LE(4) !== 7) throw new Error("the quick start's writes did not reach data.bin");
  if (fs.readFileSync(path.join(app, "log.bin")).subarray(0, 5).toString() !== "hello") {
    throw new Error("the quick start's log.bin does not start with hello");
  }
  console.log(`quick start: printed "${printed}"; data.bin and log.bin hold what it wrote`);

  step("npx portable-mmap check in the project");
  console.log(run(npm, ["exec", "--no", "--", "portable-mmap", "check"], app));
  step("without the native addon: automatic selection picks koffi, and reading an unmapped map cannot crash");
  // What a host without a matching prebuilt binary sees. On Node 20 (no ArrayBuffer.prototype.transfer,
  // no addon to detach with) koffi swaps the pages for zero pages instead of detaching.
  fs.rmSync(path.join(installed, "prebuilds"), { recursive: true, force: true });
  fs.writeFileSync(
    path.join(app, "no-native.mjs"),
    `import * as fs from "node:fs";
import { backendInfo, mapFile, RDWR } from "portable-mmap";
fs.writeFileSync("data3.bin", Buffer.alloc(8192, 5));
const info = backendInfo();
const m = mapFile("data3.bin", { prot: RDWR });
const view = m.subarray(10, 20);
m.unmap();
let sum = 0;
for (let i = 0; i < 8192; i++) sum += (m[i] ?? 0) + (view[i] ?? 0);
m[0] = 1;
const detaches = info.backends.find((b) => b.name === info.selected).capabilities.detachesOnUnmap;
console.log(JSON.stringify({ selected: info.selected, native: info.backends[0].reason, length: m.length, sum, detaches }));`,
  );
  const noNative = JSON.parse(run(process.execPath, ["no-native.mjs"], app));
  console.log(`native: ${noNative.native}`);
  if (noNative.selected !== "koffi") throw new Error(`selected ${noNative.selected}, expected koffi`);
  if (noNative.sum !== 0) throw new Error("read old bytes after unmap");
  if (noNative.detaches !== (noNative.length === 0)) throw new Error("length after unmap contradicts detachesOnUnmap");
  console.log(
    `koffi selected; the child read the unmapped map and exited 0 (length ${noNative.length}, ${noNative.detaches ? "detached" : "zero pages, not detached"})`,
  );
  console.log("pack check: everything above worked");
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
