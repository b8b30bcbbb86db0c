#!/usr/bin/env node
/**
 * `prepare`: builds dist/ (tsup, then the ESM wrapper) after `npm install` in
 * a checkout, and when npm installs the package from a git URL (npm runs only
 * `prepare` there, in a clone with the devDependencies). For `npm pack` and
 * `npm publish` it does nothing: `prepack` has built dist/ already. The
 * published package.json has no `prepare` (scripts/lib/pack-manifest.mjs).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const command = process.env.npm_command;
if (command === "pack" || command === "publish") process.exit(0);

for (const args of [
  [path.join(root, "node_modules", "tsup", "dist", "cli-default.js")],
  [path.join(root, "scripts", "esm-wrapper.mjs"), path.join(root, "dist")],
]) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
