#!/usr/bin/env node
/**
 * The `portable-mmap` command (`npx portable-mmap --help`):
 * - `info [--json]`: the package version, the runtime, the selected backend,
 *   where the native addon was loaded from, each backend's capabilities, and
 *   for each backend that does not load why and possible solutions;
 * - `check`: exercises every backend that loads (round trip, flushAsync,
 *   advise, residency, lock, sharing with another process) and exits 1 if
 *   one fails or a backend that should load here does not.
 *
 * The logic lives in `src/cli/`; this file is the entry point.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { main } from "./cli/main.js";

/**
 * This file, which `check` runs again in a child process: the script the
 * runtime was started with (Node, Bun and Deno all put it in argv[1]), not
 * `import.meta.url`, which the CommonJS build shims in a shared chunk.
 */
function thisFile(): string {
  const script = process.argv[1] ?? "";
  try {
    return realpathSync(script); // npx runs a symbolic link in node_modules/.bin
  } catch {
    return script;
  }
}

// No top-level await: the entry is built as CommonJS.
main(process.argv.slice(2), thisFile()).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
