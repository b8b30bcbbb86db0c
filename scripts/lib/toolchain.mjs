// Small building blocks of scripts/prebuild.mjs: progress output, running
// commands, Debian packages, where the headers are, and the addon's settings
// from binding.gyp (the one place they are written down).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (the folder holding package.json). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The folder holding binding.gyp and the C++ sources. binding.gyp is kept out
 * of the package root on purpose: pnpm and Yarn run `node-gyp rebuild` for any
 * package with a root binding.gyp and no install script, which is exactly
 * what this package is.
 */
export const nativeDir = path.join(root, "native");

/** Where `node-gyp rebuild` in native/ puts the addon. */
export const nativeBuild = path.join(nativeDir, "build", "Release", "portable_mmap.node");

/**
 * Where the loader (node-gyp-build, from the package root) finds a local build
 * before any prebuild: scripts copy `nativeBuild` here.
 */
export const localBuild = path.join(root, "build", "Release", "portable_mmap.node");

/** Copies the addon node-gyp built in native/ to where the loader looks first. */
export function installLocalBuild() {
  fs.mkdirSync(path.dirname(localBuild), { recursive: true });
  // A copy, not a link: prebuildify moves native/build's file into prebuilds/.
  fs.copyFileSync(nativeBuild, `${localBuild}.tmp`);
  fs.renameSync(`${localBuild}.tmp`, localBuild);
}

const started = Date.now();

/** Prints one line of progress, prefixed with the seconds since the start. */
export function log(text) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[prebuild ${seconds}s] ${text}`);
}

/** Runs a command with inherited output; throws if it cannot start or exits non-zero. */
export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...options });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  return result;
}

/** Runs a command and returns its stdout; throws on failure. */
export function capture(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    ...options,
  });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  return result.stdout;
}

/** Whether `cmd` is an executable on PATH. */
export function have(cmd) {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The Debian packages of `names` that are not installed (all of them where dpkg is missing). */
export function missingPackages(names) {
  if (!have("dpkg-query")) return [...names];
  return names.filter((name) => {
    const result = spawnSync("dpkg-query", ["-W", `-f=\${Status}`, name], { encoding: "utf8" });
    return !(result.status === 0 && result.stdout.endsWith(" installed"));
  });
}

/**
 * Installs the missing ones of `names` with apt-get (idempotent: nothing
 * happens when all are there). Runs `apt-get update` once if the first
 * attempt fails. Throws where apt-get is missing or we are not root.
 */
export function installPackages(names) {
  const missing = missingPackages(names);
  if (missing.length === 0) return;
  if (!have("apt-get")) throw new Error(`missing packages ${missing.join(" ")}, and no apt-get to install them`);
  if (process.getuid?.() !== 0) throw new Error(`missing packages; run: sudo apt-get install -y ${missing.join(" ")}`);
  log(`apt-get install -y ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const args = ["install", "-y", "--no-install-recommends", ...missing];
  const first = spawnSync("apt-get", args, { stdio: "inherit", env });
  if (first.status === 0) return;
  log("apt-get install failed; apt-get update, then once more");
  run("apt-get", ["update"], { env });
  run("apt-get", args, { env });
}

/**
 * The folder whose `include/node` holds the Node headers of the running Node
 * (node_api.h, uv.h), or undefined: `npm_config_nodedir`, else the install
 * prefix of `node` itself (official tarballs and Debian's nodejs both ship them).
 */
export function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), "..")];
  return candidates.find((dir) => dir && fs.existsSync(path.join(dir, "include", "node", "node_api.h")));
}

/** The include folder of node-addon-api (napi.h). */
export function addonApiDir() {
  const require = createRequire(path.join(root, "package.json"));
  return path.dirname(require.resolve("node-addon-api/napi.h"));
}

/**
 * The addon's target in binding.gyp: `name`, `sources`, `defines`,
 * `cflags` (C++ flags of all configurations, Release last) and the Linux
 * linker flags. binding.gyp must
 * stay plain JSON (no comments, double quotes) for this to read it.
 */
export function gypTarget() {
  const text = fs.readFileSync(path.join(nativeDir, "binding.gyp"), "utf8");
  let gyp;
  try {
    gyp = JSON.parse(text);
  } catch (error) {
    throw new Error(`binding.gyp must be plain JSON for scripts/prebuild.mjs: ${error.message}`);
  }
  const target = gyp.targets[0];
  const release = target.configurations?.Release ?? {};
  return {
    name: target.target_name,
    /** Relative to the package root. */
    sources: target.sources.map((source) => path.join("native", source)),
    defines: target.defines ?? [],
    cflags: [...(target.cflags_cc ?? []), ...(release.cflags_cc ?? [])],
    /** Linker flags of the Linux builds (binding.gyp `conditions`). */
    linuxLdflags: (target.conditions ?? []).find(([when]) => when === "OS=='linux'")?.[1]?.ldflags ?? [],
  };
}

/** Whether `file` exists and is newer than every one of `inputs` (files or folders, recursively). */
export function isFresh(file, inputs) {
  let built;
  try {
    built = fs.statSync(file).mtimeMs;
  } catch {
    return false;
  }
  const newest = (p) => {
    const stat = fs.statSync(p);
    if (!stat.isDirectory()) return stat.mtimeMs;
    return Math.max(stat.mtimeMs, ...fs.readdirSync(p).map((name) => newest(path.join(p, name))));
  };
  return inputs.every((input) => newest(input) < built);
}

/** What a binary is for, from its header: "linux-arm64", "win32-x64", ... (ELF is taken as Linux), or "unknown". */
export function binaryTarget(file) {
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const elf = { 62: "x64", 183: "arm64", 3: "ia32", 40: "arm" };
  const pe = { 34404: "x64", 43620: "arm64", 332: "ia32" };
  if (head.readUInt32BE(0) === 0x7f454c46) return `linux-${elf[head.readUInt16LE(18)] ?? "unknown"}`;
  if (head.toString("latin1", 0, 2) === "MZ") {
    const at = head.readUInt32LE(0x3c);
    if (at + 6 <= head.length && head.readUInt32LE(at) === 0x4550)
      return `win32-${pe[head.readUInt16LE(at + 4)] ?? "unknown"}`;
  }
  return "unknown";
}
