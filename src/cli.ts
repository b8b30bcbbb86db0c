#!/usr/bin/env node
/**
 * The `portable-mmap` command (`npx portable-mmap --help`):
 * - `info [--json]`: the package version, the runtime, the selected backend,
 *   where the native addon was loaded from, each backend's capabilities, and
 *   for each backend that does not load why and possible solutions;
 * - `check`: exercises every backend that loads (round trip, flushAsync,
 *   advise, residency, lock, sharing with another process) and exits 1 if
 *   one fails, a backend that should load here does not, no backend can be
 *   selected, or the temporary folder cannot be written; interrupted, it
 *   removes its folder and exits 130 (SIGINT) or 143 (SIGTERM).
 *
 * The logic lives in `src/cli/`; this file is the entry point.
 *
 * @module
 */
import { realpathSync } from "node:fs";

/** The package's version, written in by tsup's `define` (tsup.config.ts); undefined unbuilt. */
declare const __PORTABLE_MMAP_VERSION__: string | undefined;

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

const argv = process.argv.slice(2);
// As parseArgs reads it (src/cli/args.ts), without importing it: a module the
// rest also imports would go into a shared chunk, which must then be read.
const version = argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v");
if (version && typeof __PORTABLE_MMAP_VERSION__ === "string") {
  // Answered before the library's chunk loads: Deno without --allow-read cannot read it.
  console.log(__PORTABLE_MMAP_VERSION__);
} else {
  runMain();
}

function runMain(): void {
  // No top-level await: the entry is built as CommonJS. Loaded here, not at
  // the top, so that --version needs no file access.
  import("./cli/main.js")
    .then(({ main }) => main(argv, thisFile()))
    .then(
      (status) => {
        process.exitCode = status;
      },
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
}
