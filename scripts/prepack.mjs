#!/usr/bin/env node
/**
 * `prepack`: builds the library (dist/), then, for `npm pack` and `npm
 * publish`, the prebuilds this machine's toolchains can make, and refuses to
 * go on if one a release promises is missing (scripts/check-prebuilds.mjs).
 *
 * Last, it writes the package.json the tarball carries, without `prepare`
 * and `devDependencies` (scripts/lib/pack-manifest.mjs); `postpack` puts the
 * repository's back. It refuses `npm publish` from the folder, which would
 * send the registry the repository's package.json: publish the tarball.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { restoreManifest, writePackManifest } from "./lib/pack-manifest.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function step(args) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// A pack that failed after prepack left the packed package.json in place: put the saved one back first.
restoreManifest();
if (process.env.npm_command === "publish") {
  console.error(
    [
      "portable-mmap: refusing to publish from the folder: npm would send the registry the package.json",
      "as it is after postpack (with prepare and devDependencies). Publish the packed tarball, as the",
      "release workflow does: npm pack, then npm publish portable-mmap-<version>.tgz",
    ].join("\n"),
  );
  process.exit(1);
}
step([path.join(root, "node_modules", "tsup", "dist", "cli-default.js")]);
step([path.join(root, "scripts", "esm-wrapper.mjs"), path.join(root, "dist")]);
const command = process.env.npm_command;
if (command === "pack") {
  // PORTABLE_MMAP_PREBUILT=1: prebuilds/ holds what the release workflow built on each platform; build none here.
  if (process.env.PORTABLE_MMAP_PREBUILT !== "1") step([path.join(root, "scripts", "prebuild.mjs"), "--available"]);
  step([path.join(root, "scripts", "check-prebuilds.mjs")]);
} else {
  console.log(`portable-mmap: prepack for npm ${command ?? "(unknown)"}: dist/ only, no prebuilds`);
}
writePackManifest();
