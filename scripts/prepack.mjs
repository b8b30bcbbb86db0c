#!/usr/bin/env node
/**
 * `prepack`: builds the library (dist/), then, for `npm pack` and `npm
 * publish`, the prebuilds this machine's toolchains can make, and refuses to
 * go on if one a release promises is missing (scripts/check-prebuilds.mjs).
 *
 * npm also runs `prepack` when it installs the package from a git URL, in a
 * clone with the devDependencies installed: there only dist/ is built (no
 * compiler is asked for; koffi serves where no prebuild is shipped).
 *
 * Last, it takes the `prepare` script out of package.json for the tarball
 * (npm 11 reports an installed package's `prepare` as an install script);
 * `postpack` puts it back.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { removePrepare, restorePrepare } from "./lib/manifest-scripts.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function step(args) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// A pack that failed after prepack left package.json without prepare: repair it first.
restorePrepare();
step([path.join(root, "node_modules", "tsup", "dist", "cli-default.js")]);
step([path.join(root, "scripts", "esm-wrapper.mjs"), path.join(root, "dist")]);
const command = process.env.npm_command;
if (command === "pack" || command === "publish") {
  // PORTABLE_MMAP_PREBUILT=1: prebuilds/ holds what the release workflow built on each platform; build none here.
  if (process.env.PORTABLE_MMAP_PREBUILT !== "1") step([path.join(root, "scripts", "prebuild.mjs"), "--available"]);
  step([path.join(root, "scripts", "check-prebuilds.mjs")]);
} else {
  console.log(`portable-mmap: prepack for npm ${command ?? "(unknown)"}: dist/ only, no prebuilds`);
}
removePrepare();
