#!/usr/bin/env node
// `npm run build:prebuilds`: builds the native addon for linux-x64, linux-arm64 and
// win32-x64 from one Linux x64 machine, into the layout node-gyp-build loads:
//
//   prebuilds/linux-x64/portable-mmap.glibc.node    prebuildify --napi --strip --tag-libc
//   prebuilds/linux-arm64/portable-mmap.glibc.node  aarch64-linux-gnu-g++ (Debian g++-aarch64-linux-gnu)
//   prebuilds/win32-x64/portable-mmap.node          MinGW-w64 (Debian g++-mingw-w64-x86-64-posix)
//
// Node-API binaries do not depend on the Node version, so one file per
// platform serves every Node (and Bun and Deno). The "glibc" tag keeps
// node-gyp-build from loading a glibc binary on musl (Alpine), where the koffi
// backend takes over instead.
//
// Usage: node scripts/prebuild.mjs [target...] [--available] [--force]
//   target       linux-x64, linux-arm64, win32-x64 or this host (default: all of them;
//                on a host other than linux-x64 only the host is built, the rest skipped)
//   --available  build only what the installed toolchains can build and
//                install nothing (for `prepack`); the others are skipped with the reason
//   --force      rebuild even where a prebuild is newer than its sources
// Missing cross toolchains are installed with apt-get (needs root) unless --available.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { hostLibc, prebuildFile } from "./lib/targets.mjs";
import {
  addonApiDir,
  binaryTarget,
  capture,
  gypTarget,
  have,
  installLocalBuild,
  installPackages,
  isFresh,
  log,
  missingPackages,
  nativeDir,
  nodeDir,
  root,
  run,
} from "./lib/toolchain.mjs";

const require = createRequire(import.meta.url);
const host = `${process.platform}-${process.arch}`;
const gyp = gypTarget();
const packageName = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).name;

/** The files a change to which makes the prebuilds stale. */
const inputs = [
  nativeDir,
  path.join(root, "scripts", "prebuild.mjs"),
  path.join(root, "scripts", "lib"),
  path.join(addonApiDir(), "package.json"),
];

/** The libc of a Linux target: the host's own for the host (musl on Alpine), glibc for the cross builds. */
function libcOf(target) {
  if (!target.startsWith("linux-")) return undefined;
  return target === host ? hostLibc() : "glibc";
}

/** The file name node-gyp-build looks for: `<name>[.<libc>].node`. */
function fileName(target) {
  return prebuildFile(packageName, libcOf(target));
}

/** Where the prebuild of `target` goes. */
function outputOf(target) {
  return path.join(root, "prebuilds", target, fileName(target));
}

/**
 * Empties prebuilds/<target>/ of this libc's binaries, except `keep` (so no
 * older name or tag is left to load); the other libc's build (a release has
 * glibc and musl side by side) stays.
 */
function clearTarget(target, keep) {
  const dir = path.join(root, "prebuilds", target);
  fs.mkdirSync(dir, { recursive: true });
  const other = { glibc: ".musl.", musl: ".glibc." }[libcOf(target)];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(".node") || name === keep || (other && name.includes(other))) continue;
    fs.rmSync(path.join(dir, name));
  }
}

/** Compiler flags every build of the addon shares, as node-gyp passes them (defines from binding.gyp). */
function commonFlags() {
  const dir = nodeDir();
  if (!dir) throw new Error("Node headers (include/node/node_api.h) not found; set npm_config_nodedir");
  return [
    "-std=gnu++17",
    "-fno-exceptions",
    "-fno-rtti",
    "-Wno-unused-parameter",
    ...gyp.cflags,
    `-DNODE_GYP_MODULE_NAME=${gyp.name}`,
    "-DBUILDING_NODE_EXTENSION",
    "-DUSING_UV_SHARED=1",
    "-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
    ...gyp.defines.map((define) => `-D${define}`),
    `-I${path.join(dir, "include", "node")}`,
    `-I${addonApiDir()}`,
  ];
}

/** Compiles every source of binding.gyp, and `extra` sources, into `work`; returns the object files. */
function compile(cxx, flags, work, extra = []) {
  return [...gyp.sources, ...extra].map((source) => {
    const object = path.join(work, `${path.basename(source, path.extname(source))}.o`);
    log(`  ${cxx} -c ${source}`);
    run(cxx, ["-c", ...commonFlags(), ...flags, path.join(root, source), "-o", object]);
    return object;
  });
}

// ---------------------------------------------------------------- the host (prebuildify)

/** Whether this machine has what node-gyp needs. */
function hostToolsPresent() {
  if (process.platform === "win32") return true;
  return have("make") && have("python3") && ["c++", "g++", "clang++"].some(have);
}

/**
 * prebuildify --napi --strip on this machine, in native/ (where binding.gyp
 * is), writing into the root's prebuilds/, with the local Node headers (never
 * downloads them); then builds native/build/Release again (prebuildify moved
 * its addon away) and copies it to build/Release, which local development loads first.
 */
function buildHost(target) {
  const env = { ...process.env };
  const dir = nodeDir();
  if (!env.npm_config_nodedir && dir) env.npm_config_nodedir = dir;
  const args = ["--napi", "--strip", `--target=${process.versions.node}`, "--cwd", nativeDir, "--out", root];
  args.push("--name", packageName);
  if (process.platform === "linux") args.push("--tag-libc");
  log(`  prebuildify ${args.join(" ")}`);
  run(process.execPath, [require.resolve("prebuildify/bin.js"), ...args], { env });
  log("  node-gyp build (build/Release for local development)");
  run(process.execPath, [require.resolve("node-gyp/bin/node-gyp.js"), "build"], { env, cwd: nativeDir });
  installLocalBuild();
  // prebuildify names it after the package and tags; make sure it is where we say.
  const built = path.join(root, "prebuilds", target);
  const names = fs.readdirSync(built).filter((name) => name.endsWith(".node"));
  if (!names.includes(fileName(target))) throw new Error(`prebuildify wrote ${names.join(", ")} into ${built}`);
  // make links native/build/Release/<name>.node to the file prebuildify moved
  // into prebuilds/ (a hard link): give the prebuild a file of its own.
  const out = outputOf(target);
  fs.copyFileSync(out, `${out}.tmp`);
  fs.renameSync(`${out}.tmp`, out);
}

// ---------------------------------------------------------------- linux-arm64 (cross)

const arm64 = { packages: ["g++-aarch64-linux-gnu"], cxx: "aarch64-linux-gnu-g++" };

/**
 * Cross-compiles with Debian's aarch64 GCC, linked like the x64 build that
 * node-gyp makes: libstdc++ dynamically (the addon needs only its oldest
 * symbol versions, and Node itself links libstdc++.so.6). A static
 * libstdc++ from GCC 12 would pull in symbols of glibc 2.34 and 2.35
 * (pthread_once, _dl_find_object) and keep the binary off the glibc 2.28
 * systems Node supports; `checkGlibc` guards that.
 */
function buildLinuxArm64(target, work) {
  const objects = compile(arm64.cxx, ["-fPIC", "-fvisibility=hidden", "-pthread"], work);
  const out = path.join(work, fileName(target));
  log(`  ${arm64.cxx} -shared -> ${fileName(target)}`);
  const link = ["-shared", "-pthread", "-s", "-static-libgcc", "-Wl,-z,noexecstack", ...gyp.linuxLdflags];
  run(arm64.cxx, [...link, ...objects, "-o", out]);
  return out;
}

// ---------------------------------------------------------------- win32-x64 (cross)

const win64 = {
  packages: ["g++-mingw-w64-x86-64-posix", "binutils-mingw-w64-x86-64"],
  // The posix-threads variant: node-addon-api's headers need std::mutex.
  cxx: "x86_64-w64-mingw32-g++-posix",
  tool: (name) => `x86_64-w64-mingw32-${name}`,
};

/**
 * A module-definition file naming what the objects import from the Node
 * process (napi_*, node_api_*, uv_*), read from their undefined symbols.
 * Only names Node exports can appear: anything else fails to link.
 */
function nodeImportsDef(objects) {
  const names = new Set();
  for (const line of capture(win64.tool("nm"), ["-u", ...objects]).split("\n")) {
    const match = /\bU (?:__imp_)?((?:napi|node_api|uv)_\w+)$/.exec(line.trim());
    if (match) names.add(match[1]);
  }
  return `LIBRARY node.exe\nEXPORTS\n${[...names].sort().join("\n")}\n`;
}

/**
 * Cross-compiles with MinGW-w64 into a DLL that imports Node-API from
 * "node.exe", delay-loaded and redirected to the host executable by
 * native/win_delay_load_hook.cc (as node-gyp's MSVC builds do with node.lib
 * and their own hook), and links the C and C++ runtimes statically, so it
 * needs nothing but Windows' own DLLs.
 */
function buildWin32X64(target, work) {
  const objects = compile(
    win64.cxx,
    ["-D_WIN32_WINNT=0x0A00", "-DWIN32_LEAN_AND_MEAN", "-DNOMINMAX", "-DNAPI_EXTERN=__declspec(dllimport)"],
    work,
    ["native/win_delay_load_hook.cc"],
  );
  const def = path.join(work, "node.def");
  const lib = path.join(work, "libnode.a");
  const text = nodeImportsDef(objects);
  fs.writeFileSync(def, text);
  log(
    `  ${win64.tool("dlltool")}: delay-import library for ${text.trim().split("\n").length - 2} functions of node.exe`,
  );
  run(win64.tool("dlltool"), ["-d", def, "-y", lib, "-D", "node.exe"]);
  const out = path.join(work, fileName(target));
  log(`  ${win64.cxx} -shared -> ${fileName(target)}`);
  run(win64.cxx, ["-shared", "-s", "-static", "-static-libgcc", "-static-libstdc++", ...objects, lib, "-o", out]);
  const dump = capture(win64.tool("objdump"), ["-p", out]);
  const dlls = [...dump.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
  log(`  imports: ${dlls.join(", ")}`);
  if (dlls.some((dll) => dll.toLowerCase() === "node.exe"))
    throw new Error("node.exe is imported directly, not delay-loaded");
  return out;
}

// ---------------------------------------------------------------- checks

/** The newest glibc a Linux prebuild may need: the oldest that official Node 20 and 22 binaries run on. */
const glibcFloor = [2, 28];

/** Throws if the Linux binary `file` needs a newer glibc than `glibcFloor` (readelf reads any architecture). */
function checkGlibc(file) {
  const needed = [...capture("readelf", ["-V", "-W", file]).matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  const newest = needed.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a), [0, 0]);
  if (newest[0] > glibcFloor[0] || (newest[0] === glibcFloor[0] && newest[1] > glibcFloor[1])) {
    fs.rmSync(file, { force: true }); // never left to pass as "up to date" next time
    throw new Error(`${path.relative(root, file)} needs glibc ${newest.join(".")}, newer than ${glibcFloor.join(".")}`);
  }
  log(`  needs glibc ${newest.join(".")} or later`);
}

// ---------------------------------------------------------------- driver

/**
 * How each target is built here, or undefined where it cannot be: the Debian
 * `packages` it needs, `present()` (whether its tools are on PATH), and
 * `build`, which returns the binary's path (cross builds) or undefined (the
 * host build writes prebuilds/ itself).
 */
function recipe(target) {
  if (target === host) return { packages: [], present: hostToolsPresent, build: buildHost };
  if (host !== "linux-x64") return undefined;
  if (target === "linux-arm64") return { ...arm64, present: () => have(arm64.cxx), build: buildLinuxArm64 };
  if (target === "win32-x64") {
    const present = () => have(win64.cxx) && have(win64.tool("dlltool")) && have(win64.tool("nm"));
    return { ...win64, present, build: buildWin32X64 };
  }
  return undefined;
}

/** Builds one target; returns a one-line outcome for the summary. Throws if the build fails. */
function buildTarget(target, { available, force }) {
  const how = recipe(target);
  if (!how) return `skipped: cannot be built on ${host}`;
  const out = outputOf(target);
  if (!force && isFresh(out, inputs)) {
    clearTarget(target, fileName(target));
    return "up to date";
  }
  if (!how.present()) {
    if (available) return `skipped: toolchain missing (${missingPackages(how.packages).join(" ") || "see recipe"})`;
    installPackages(how.packages);
    if (!how.present())
      throw new Error(`${target}: toolchain still missing after installing ${how.packages.join(" ")}`);
  }
  const start = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `portable-mmap-${target}-`));
  try {
    clearTarget(target);
    const built = how.build(target, work);
    if (built) fs.copyFileSync(built, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const actual = binaryTarget(out);
  if (actual !== target) throw new Error(`${out} is a ${actual} binary, not ${target}`);
  if (libcOf(target) === "glibc" && have("readelf")) checkGlibc(out);
  const kib = (fs.statSync(out).size / 1024).toFixed(0);
  return `built ${path.relative(root, out)} (${kib} KiB) in ${((Date.now() - start) / 1000).toFixed(1)}s`;
}

/** Reads the command line. */
function parseArgs(argv) {
  const known = [...new Set(["linux-x64", "linux-arm64", "win32-x64", host])];
  const options = { available: false, force: false, targets: [] };
  for (const arg of argv) {
    if (arg === "--available") options.available = true;
    else if (arg === "--force") options.force = true;
    else if (known.includes(arg)) options.targets.push(arg);
    else throw new Error(`unknown argument ${arg} (targets: ${known.join(", ")}; options: --available, --force)`);
  }
  if (options.targets.length === 0) options.targets = known;
  // The host build runs node-gyp rebuild, which empties native/build/: do it first.
  options.targets.sort((a, b) => (b === host) - (a === host));
  return options;
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  log(`host ${host}; targets ${options.targets.join(", ")}${options.available ? " (only what is installed)" : ""}`);
  const results = [];
  let failed = false;
  for (const target of options.targets) {
    log(`${target}:`);
    try {
      results.push([target, buildTarget(target, options)]);
    } catch (error) {
      failed = true;
      results.push([target, `FAILED: ${error.message}`]);
    }
    log(`${target}: ${results.at(-1)[1]}`);
  }
  log("summary");
  for (const [target, outcome] of results) console.log(`  ${target.padEnd(12)} ${outcome}`);
  if (failed) process.exitCode = 1;
}

main();
