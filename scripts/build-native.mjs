#!/usr/bin/env node
/**
 * `npm run build:native`: builds the native addon from source with node-gyp
 * (in native/, where binding.gyp is) and copies it to build/Release, where
 * the package looks before its prebuilds. The package has no install script
 * (npm counts even `prepare` as one, and warns), so this runs only when
 * asked: by hand, and by `npm test` in a checkout (with --if-stale), where a
 * failed build fails the command and says why, rather than leaving the
 * native backend silently unavailable.
 *
 * Usage: node scripts/build-native.mjs [--if-stale]
 *   --if-stale  do nothing when build/Release's addon is newer than its sources
 * PORTABLE_MMAP_SKIP_NATIVE=1 skips the build (koffi and the fallback still work).
 *
 * Needs node-gyp and node-addon-api (devDependencies, so a checkout has them;
 * in an installed package, `npm install --no-save node-gyp node-addon-api`
 * first), a C++ compiler, Python 3 and Node's headers: node-gyp downloads
 * them unless `npm_config_nodedir` names a Node installation with
 * `include/node` (set here when the running Node has them).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { installLocalBuild, isFresh, localBuild, nativeBuild, nativeDir, nodeDir, root } from "./lib/toolchain.mjs";

function fail(lines) {
  const bar = "=".repeat(78);
  console.error(`\n${bar}\nportable-mmap: the native addon was not built.\n${lines.join("\n")}\n${bar}\n`);
  process.exit(1);
}

if (process.env.PORTABLE_MMAP_SKIP_NATIVE === "1") {
  console.log("portable-mmap: PORTABLE_MMAP_SKIP_NATIVE=1, native addon not built (koffi and the fallback still work)");
  process.exit(0);
}

const require = createRequire(path.join(root, "package.json"));
let gyp;
let addonApi;
try {
  gyp = require.resolve("node-gyp/bin/node-gyp.js");
  addonApi = path.dirname(require.resolve("node-addon-api/package.json"));
} catch {
  fail([
    "node-gyp and node-addon-api are needed to build it. In this folder:",
    "  npm install --no-save node-gyp node-addon-api && npm run build:native",
  ]);
}

const inputs = [nativeDir, path.join(addonApi, "package.json")];
if (process.argv.includes("--if-stale") && isFresh(localBuild, inputs)) {
  console.log(`portable-mmap: ${path.relative(root, localBuild)} is up to date`);
  process.exit(0);
}

const env = { ...process.env };
const headers = nodeDir();
if (!env.npm_config_nodedir && headers) env.npm_config_nodedir = headers;
console.log(`portable-mmap: building the native addon (node-gyp rebuild${headers ? `, headers from ${headers}` : ""})`);
const result = spawnSync(process.execPath, [gyp, "rebuild"], { cwd: nativeDir, env, stdio: "inherit" });
if (result.status !== 0 || !fs.existsSync(nativeBuild)) {
  fail([
    `node-gyp rebuild failed (exit ${result.status ?? result.signal}); its output is above.`,
    "It needs a C++ compiler, make and Python 3, and Node's headers (set npm_config_nodedir to a",
    "Node installation with include/node, or let node-gyp download them).",
    "Without the addon, koffi or the fallback is used; to go on without building it, set",
    "PORTABLE_MMAP_SKIP_NATIVE=1 (for example PORTABLE_MMAP_SKIP_NATIVE=1 npm test).",
  ]);
}
installLocalBuild();
console.log(`portable-mmap: built ${path.relative(root, localBuild)}`);
