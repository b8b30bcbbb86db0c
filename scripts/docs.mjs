#!/usr/bin/env node
/**
 * `npm run docs`: the documentation site (typedoc, typedoc.json) in
 * docs/site/. The guides are the @document pages listed in src/index.ts. The
 * performance page among them (docs/performance.md) holds measurements, which
 * the benchmark is to write; where that file is missing, a page saying how to
 * measure is written first, so that the site builds, and links to the page,
 * either way.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const performance = join(root, "docs", "performance.md");
if (!existsSync(performance)) {
  writeFileSync(
    performance,
    "---\ntitle: Performance\ngroup: Guides\n---\n\n# Performance\n\nNot measured in this checkout yet: `npm run bench` measures and prints the tables.\n",
  );
  console.log("docs: docs/performance.md was missing; wrote a page that says how to measure");
}
const typedoc = join(dirname(createRequire(import.meta.url).resolve("typedoc/package.json")), "bin", "typedoc");
const result = spawnSync(process.execPath, [typedoc, ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
