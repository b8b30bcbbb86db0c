#!/usr/bin/env node
/**
 * Whether prebuilds/ holds every addon a release promises
 * (scripts/lib/targets.mjs). Prints one line per target and exits 1 when one
 * is missing, unless PORTABLE_MMAP_PARTIAL_PACK=1 (or --partial) says a
 * partial package is meant (a pack for local testing); then it only warns.
 *
 * Usage: node scripts/check-prebuilds.mjs [--partial]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { prebuildFile, releaseTargets } from "./lib/targets.mjs";
import { root } from "./lib/toolchain.mjs";

const name = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).name;
const partial = process.argv.includes("--partial") || process.env.PORTABLE_MMAP_PARTIAL_PACK === "1";
const missing = [];
for (const target of releaseTargets) {
  const file = path.join("prebuilds", target.dir, prebuildFile(name, target.libc));
  const present = fs.existsSync(path.join(root, file));
  if (!present) missing.push(target.id);
  console.log(`  ${target.id.padEnd(18)} ${present ? "ok     " : "MISSING"} ${file}`);
}
if (missing.length === 0) {
  console.log(`portable-mmap: every prebuild a release promises is here (${releaseTargets.length})`);
} else if (partial) {
  console.warn(`portable-mmap: packing WITHOUT ${missing.join(", ")} (PORTABLE_MMAP_PARTIAL_PACK=1): not for release`);
} else {
  console.error(
    [
      `portable-mmap: refusing to pack: no prebuild for ${missing.join(", ")}.`,
      "A release packs the binaries the release workflow (.github/workflows/release.yml) builds on each",
      "platform; this machine cannot build them all. To pack for local testing anyway:",
      "  PORTABLE_MMAP_PARTIAL_PACK=1 npm pack",
    ].join("\n"),
  );
  process.exitCode = 1;
}
