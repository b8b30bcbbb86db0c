/**
 * Finds or builds what the contenders other than portable-mmap need: the C
 * program (`cc -O2`), Python 3, Bun, the Node-API floor addon (bench/floor),
 * and `@riaskov/mmap-io`. Each is optional: what is missing is reported with
 * why, and its rows are left out.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** The version of @riaskov/mmap-io the benchmark installs (into .bench/peers, on first use). */
const MMAP_IO = "@riaskov/mmap-io@1.4.3";

const lastLine = (error) =>
  String(error.stderr || error.message)
    .trim()
    .split("\n")
    .at(-1);

function works(command, args) {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 30000 });
    return true;
  } catch {
    return false;
  }
}

/** Compiles bench/workers/peers.c into `dir`. */
function buildC(here, dir) {
  const cc = process.env.CC || "cc";
  const exe = join(dir, "peers-c");
  try {
    execFileSync(cc, ["-O2", "-o", exe, join(here, "workers", "peers.c")], { stdio: ["ignore", "ignore", "pipe"] });
    return { cc, exe };
  } catch (error) {
    return { why: `${cc} could not compile bench/workers/peers.c: ${lastLine(error)}` };
  }
}

/** A Node whose buffers can exceed 4 GiB (22 or later), for the 64 GiB memory rows: this one, else the newest the matrix cached. */
function findLargeNode(root) {
  const [major] = process.versions.node.split(".").map(Number);
  if (major >= 22) return { largeNode: process.execPath };
  const packages = join(root, ".matrix", "packages");
  const cached = existsSync(packages)
    ? readdirSync(packages)
        .filter((e) => e.startsWith(`node-${process.platform}-${process.arch}@`))
        .map((e) => ({ e, major: Number(e.split("@")[1].split(".")[0]) }))
        .filter((x) => x.major >= 22)
        .sort((a, b) => b.major - a.major)
    : [];
  for (const { e } of cached) {
    const candidate = join(packages, e, "bin", "node");
    if (works(candidate, ["--version"])) return { largeNode: candidate };
  }
  return {
    why: `Node ${process.versions.node} makes buffers of at most 4 GiB, and no Node 22 or later is cached: run \`npm run test:matrix\` once`,
  };
}

/** Bun: $BUN, else the one `npm run test:matrix` cached, else bun on PATH. */
function findBun(root) {
  if (process.env.BUN)
    return works(process.env.BUN, ["--version"])
      ? { bun: process.env.BUN }
      : { why: `BUN=${process.env.BUN} does not run` };
  const packages = join(root, ".matrix", "packages");
  if (existsSync(packages)) {
    for (const entry of readdirSync(packages).sort().reverse()) {
      const candidate = join(packages, entry, "bin", "bun");
      if (entry.startsWith(`@oven+bun-${process.platform}-${process.arch}@`) && works(candidate, ["--version"]))
        return { bun: candidate };
    }
  }
  if (works("bun", ["--version"])) return { bun: "bun" };
  return { why: "no Bun here: run `npm run test:matrix` once (it caches one), or set BUN" };
}

function nodeGypEnv() {
  const env = { ...process.env };
  // node-gyp builds against the Node headers the machine has where there are some, as .ci/run does.
  if (!env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h")) env.npm_config_nodedir = "/usr";
  return env;
}

/** The Node-API floor addon (bench/floor/floor.c), built with node-gyp on first use. */
function buildFloor(root, here) {
  if (process.platform === "win32") return { why: "the floor addon is POSIX only" };
  const dir = join(here, "floor");
  const built = join(dir, "build", "Release", "floor.node");
  const source = join(dir, "floor.c");
  const stamp = join(dir, "build", "source.txt");
  // Rebuilt when floor.c changed since the last build.
  if (existsSync(built) && existsSync(stamp) && readFileSync(stamp, "utf8") === readFileSync(source, "utf8"))
    return { floor: built };
  try {
    const nodeGyp = join(root, "node_modules", "node-gyp", "bin", "node-gyp.js");
    execFileSync(process.execPath, [nodeGyp, "rebuild", "--directory", dir], {
      stdio: ["ignore", "ignore", "pipe"],
      env: nodeGypEnv(),
    });
    writeFileSync(stamp, readFileSync(source, "utf8"));
    return { floor: built };
  } catch (error) {
    return { why: `node-gyp could not build bench/floor: ${lastLine(error)}` };
  }
}

/**
 * @riaskov/mmap-io, installed with npm into .bench/peers (not a devDependency:
 * it compiles itself in an install script, which would make every `npm ci`
 * of this repository depend on a C++ toolchain and on install scripts being
 * allowed).
 */
function installMmapIo(root, log) {
  const prefix = join(root, ".bench", "peers");
  const main = join(prefix, "node_modules", "@riaskov", "mmap-io");
  const load = () => {
    const require = createRequire(join(prefix, "package.json"));
    require("@riaskov/mmap-io");
    return { mmapIo: { dir: main, version: JSON.parse(readFileSync(join(main, "package.json"), "utf8")).version } };
  };
  try {
    if (existsSync(main)) return load();
  } catch {
    // installed but not loadable (another Node version): install again
  }
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, "package.json"))) writeFileSync(join(prefix, "package.json"), '{ "private": true }\n');
  log(`  installing ${MMAP_IO} into .bench/peers (once; it compiles its addon)...`);
  try {
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--foreground-scripts", MMAP_IO], {
      cwd: prefix,
      stdio: ["ignore", "ignore", "pipe"],
      env: nodeGypEnv(),
      shell: process.platform === "win32",
      timeout: 600000,
    });
    return load();
  } catch (error) {
    return { why: `${MMAP_IO} could not be installed or loaded: ${lastLine(error)}` };
  }
}

/**
 * Everything optional, found or built once per run: `{ cc, exe, python, bun, floor, mmapIo, missing }`,
 * where `missing` maps each tool that is not there to why.
 */
export function findPeers({ root, here, workDir, log }) {
  const found = { missing: {} };
  const add = (name, outcome) => {
    if (outcome.why) found.missing[name] = outcome.why;
    else Object.assign(found, outcome);
  };
  add("C", buildC(here, workDir));
  const python = process.env.PYTHON || "python3";
  add(
    "Python",
    works(python, ["-c", "import mmap"]) ? { python } : { why: `${python} with its mmap module is not here` },
  );
  add("Bun", findBun(root));
  add("Node-API floor", buildFloor(root, here));
  add("mmap-io", installMmapIo(root, log));
  add("Node 22 or later", findLargeNode(root));
  return found;
}
