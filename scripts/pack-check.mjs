#!/usr/bin/env node
// `npm run test:pack`: packs the package (a partial pack: PORTABLE_MMAP_PARTIAL_PACK=1,
// with the prebuilds this machine makes), checks what the tarball holds and that
// it has no install script, installs it into empty projects with npm, pnpm 10 and
// Bun and checks that none of them warns about an install script of ours, then
// installs it with `npm install --ignore-scripts` (what pnpm 10, Bun and Deno do to
// dependencies' scripts, so nothing may compile, and koffi's own install script does
// not run) and uses it from `import`, from `require` and from TypeScript. Prints
// what it does; exits non-zero on failure.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { hostLibc, prebuildFile } from "./lib/targets.mjs";
import { fetchPackage, resolveVersion } from "./matrix/cache.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// --tarball FILE: check that tarball (the release workflow's) instead of packing one here.
const tarballAt = process.argv.indexOf("--tarball");
const given = tarballAt > 0 ? path.resolve(process.argv[tarballAt + 1] ?? "") : undefined;
if (given && !fs.existsSync(given)) {
  console.error(`--tarball: ${given} does not exist`);
  process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-pack-"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function step(text) {
  console.log(`\n== ${text}`);
}

// npm.cmd on Windows starts only through a shell (Node refuses to spawn .cmd files directly).
const shell = process.platform === "win32";

function run(cmd, args, cwd, env = process.env) {
  return execFileSync(cmd, args, { cwd, env, shell, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** Runs a command and returns stdout and stderr together (a package manager's warnings go to either); throws on failure. */
function runAll(cmd, args, cwd, env = process.env) {
  const result = spawnSync(cmd, args, { cwd, env, shell, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status}:\n${output}`);
  return output;
}

/** Every file under `dir`, as paths relative to it with forward slashes. */
function listFiles(dir, prefix = "") {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const name = `${prefix}${entry.name}`;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${name}/`) : [name];
  });
}

/** An empty project folder with a package.json. */
function project(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, private: true }, null, 2));
  return dir;
}

/** A program that prints the selected backend after a round trip through a map. */
const selectScript = `import * as fs from "node:fs";
import { backendInfo, mapFile, RDWR } from "portable-mmap";
fs.writeFileSync("select.bin", Buffer.alloc(4096, 1));
const m = mapFile("select.bin", { prot: RDWR });
m[1] = 2; m.unmap();
if (fs.readFileSync("select.bin")[1] !== 2) throw new Error("round trip failed");
console.log(backendInfo().selected);
`;

/** Fails if a package manager's output names this package among those with install scripts. */
function assertNoScriptWarning(manager, output) {
  const lines = output
    .split(/\r?\n/)
    .filter((line) => /portable-mmap/.test(line) && /script|postinstall|build/i.test(line));
  if (lines.length > 0)
    throw new Error(`${manager} warned about an install script of portable-mmap:\n${lines.join("\n")}`);
  const about = output.split(/\r?\n/).filter((line) => /script|postinstall|approve-builds/i.test(line));
  console.log(
    `${manager}: no install-script warning for portable-mmap${about.length ? ` (about others: ${about.map((l) => l.trim()).join(" / ")})` : ""}`,
  );
}

try {
  step("npm pack refuses a package without every prebuild a release promises (unless told)");
  const { PORTABLE_MMAP_PARTIAL_PACK: _, ...strict } = process.env;
  const refusal = spawnSync(process.execPath, [path.join(root, "scripts", "check-prebuilds.mjs")], {
    cwd: root,
    env: strict,
    encoding: "utf8",
  });
  const complete = !/MISSING/.test(refusal.stdout);
  if (complete ? refusal.status !== 0 : refusal.status !== 1 || !/refusing to pack/.test(refusal.stderr))
    throw new Error(`check-prebuilds: status ${refusal.status}\n${refusal.stdout}${refusal.stderr}`);
  console.log(
    complete
      ? "every promised prebuild is here: packing is allowed"
      : "refused, as it should be: some are missing here",
  );

  let tarball = given;
  if (tarball) {
    step(`the given tarball: ${tarball}`);
  } else {
    step(`npm pack into ${work} (PORTABLE_MMAP_PARTIAL_PACK=1: the prebuilds this machine makes)`);
    // Lifecycle scripts (prepack: the build) print to stdout too; the JSON report comes last.
    const env = { ...process.env, PORTABLE_MMAP_PARTIAL_PACK: "1" };
    const output = run(npm, ["pack", "--json", "--pack-destination", work], root, env);
    const [packed] = JSON.parse(output.slice(output.search(/^\[$/m)));
    tarball = path.join(work, packed.filename);
  }
  // What the tarball holds, unpacked (its paths start with package/).
  const unpacked = path.join(work, "unpacked");
  fs.mkdirSync(unpacked);
  // A relative name: Git's tar on Windows reads "C:..." as a remote host.
  fs.copyFileSync(tarball, path.join(work, "package.tgz"));
  run("tar", ["-xzf", "package.tgz", "-C", "unpacked"], work);
  const packageDir = path.join(unpacked, "package");
  const files = listFiles(packageDir);
  console.log(`${path.basename(tarball)}: ${files.length} files, ${fs.statSync(tarball).size} bytes`);
  for (const needed of ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/cli.cjs"]) {
    if (!files.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }
  // binding.gyp at the root would make pnpm and Yarn run node-gyp at install time.
  const unwanted = files.filter(
    (f) =>
      f === "binding.gyp" ||
      f.endsWith(".map") ||
      f.startsWith("native/build/") ||
      f.startsWith("native/node_modules/") ||
      f.startsWith("build/") ||
      f === "dist/cli.js",
  );
  if (unwanted.length > 0) throw new Error(`the tarball holds files it must not: ${unwanted.join(", ")}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
  const hooks = ["preinstall", "install", "postinstall", "prepare"].filter((hook) => manifest.scripts?.[hook]);
  if (hooks.length > 0) throw new Error(`package.json has install-time scripts: ${hooks.join(", ")}`);
  if (manifest.dependencies?.["node-addon-api"]) throw new Error("node-addon-api (build-time only) is a dependency");
  if (manifest.devDependencies) throw new Error("the packed package.json has devDependencies");
  // prepack swapped package.json for the packed one; postpack must have put the repository's back.
  if (!given && !JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts?.prepare)
    throw new Error("after npm pack, the repository's package.json has no prepare: postpack did not restore it");
  console.log("no root binding.gyp, no source maps, no install-time script; build-time packages are not dependencies");
  const prebuilt = files.filter((f) => f.startsWith("prebuilds/"));
  // A binary node-gyp-build would load here: this platform's folder, this libc's tag (or none).
  const libc = hostLibc();
  const hostPrebuild = prebuilt.some((f) => {
    const [, dir, file] = f.split("/");
    if (dir !== `${process.platform}-${process.arch}`) return false;
    return !libc || file === prebuildFile(manifest.name, libc) || file === prebuildFile(manifest.name);
  });
  console.log(`prebuilt binaries: ${prebuilt.length ? prebuilt.join(", ") : "none"}`);

  const expectedHere = hostPrebuild ? "native" : "koffi";

  step("npm install <tarball> into an empty project, scripts allowed: no warning about ours");
  const npmApp = project("npm-app");
  assertNoScriptWarning("npm", runAll(npm, ["install", "--no-audit", "--no-fund", tarball], npmApp));
  fs.writeFileSync(path.join(npmApp, "select.mjs"), selectScript);
  const npmSelected = run(process.execPath, ["select.mjs"], npmApp).trim();
  if (npmSelected !== expectedHere) throw new Error(`npm install: selected ${npmSelected}, expected ${expectedHere}`);
  console.log(`npm install: selected ${npmSelected}`);

  step("pnpm 10 install <tarball> into an empty project: no warning about ours");
  const pnpmVersion = resolveVersion("pnpm", "10");
  const pnpm = path.join(await fetchPackage("pnpm", pnpmVersion), "bin", "pnpm.cjs");
  const pnpmApp = project("pnpm-app");
  const pnpmEnv = { ...process.env, CI: "1" };
  const pnpmOutput = runAll(
    process.execPath,
    [pnpm, "add", tarball, "--store-dir", path.join(work, "pnpm-store"), "--config.confirmModulesPurge=false"],
    pnpmApp,
    pnpmEnv,
  );
  assertNoScriptWarning(`pnpm ${pnpmVersion}`, pnpmOutput);
  if (fs.existsSync(path.join(pnpmApp, "node_modules", "portable-mmap", "build")))
    throw new Error("pnpm compiled something (build/ exists)");
  fs.writeFileSync(path.join(pnpmApp, "select.mjs"), selectScript);
  const pnpmSelected = run(process.execPath, ["select.mjs"], pnpmApp).trim();
  if (pnpmSelected !== expectedHere) throw new Error(`pnpm: selected ${pnpmSelected}, expected ${expectedHere}`);
  console.log(`pnpm: selected ${pnpmSelected}`);

  if (process.platform === "linux" && process.arch === "x64") {
    step("bun install <tarball> into an empty project: no warning about ours");
    const bunVersion = resolveVersion("bun", "latest");
    const bun = path.join(await fetchPackage("@oven/bun-linux-x64", bunVersion), "bin", "bun");
    const bunApp = project("bun-app");
    const bunEnv = { ...process.env, BUN_INSTALL_CACHE_DIR: path.join(work, "bun-cache") };
    assertNoScriptWarning(`bun ${bunVersion}`, runAll(bun, ["add", tarball], bunApp, bunEnv));
    assertNoScriptWarning(`bun ${bunVersion} pm untrusted`, runAll(bun, ["pm", "untrusted"], bunApp, bunEnv));
    fs.writeFileSync(path.join(bunApp, "select.mjs"), selectScript);
    const bunSelected = run(bun, ["select.mjs"], bunApp).trim();
    if (bunSelected !== expectedHere) throw new Error(`bun: selected ${bunSelected}, expected ${expectedHere}`);
    console.log(`bun: selected ${bunSelected}`);
  } else {
    console.log(`bun install: not checked on ${process.platform}-${process.arch} (the check fetches linux-x64 Bun)`);
  }

  // --ignore-scripts: what pnpm 10, Bun and Deno do to dependencies' install scripts by default (npm 11 warns):
  // koffi's own install script does not run either, and koffi must still load (below).
  step("npm install <tarball> into an empty project, install scripts blocked");
  const app = path.join(work, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }, null, 2));
  run(npm, ["install", "--ignore-scripts", "--no-audit", "--no-fund", tarball], app);
  const installed = path.join(app, "node_modules", "portable-mmap");
  if (fs.existsSync(path.join(installed, "build"))) throw new Error("a compiler ran at install time (build/ exists)");
  console.log("installed; no build/ folder, so nothing was compiled");

  // With a prebuilt binary for this host in the tarball, native must be selected; else koffi (no compiler needed).
  const expected = expectedHere;
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

  step(
    "bundled into an ES module against the advice (esbuild, with a require banner): no crash, the fallback says why",
  );
  // esbuild (tsup's) through its JavaScript API: its bin/ is a native binary on some systems, a script on others.
  const esbuild = createRequire(path.join(root, "package.json"))("esbuild");
  esbuild.buildSync({
    entryPoints: [path.join(app, "use.mjs")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: path.join(app, "bundled.mjs"),
    logLevel: "error",
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  const bundled = spawnSync(process.execPath, ["bundled.mjs"], { cwd: app, encoding: "utf8" });
  if (bundled.status !== 0 || bundled.stdout.trim() !== "fallback" || !/bundled into an ES module/.test(bundled.stderr))
    throw new Error(`the ES-module bundle: status ${bundled.status}\n${bundled.stdout}${bundled.stderr}`);
  console.log("bundle: ran on the fallback, and its warning says the package was bundled");

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
  step(
    "without the native addon, koffi installed with its install script blocked: koffi is selected, and reading an unmapped map cannot crash",
  );
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
