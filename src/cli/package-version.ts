/**
 * The version of the installed package, for `--version` and `info`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../backends/addon.js";

/**
 * The package's version, written into the build by tsup's `define`
 * (tsup.config.ts), so that `--version` needs no file access (Deno without
 * `--allow-read`). Undefined where the source runs unbuilt (vitest).
 */
declare const __PORTABLE_MMAP_VERSION__: string | undefined;

/** The version the build recorded, else the `version` field of the package root's package.json, else "unknown". */
export function packageVersion(): string {
  if (typeof __PORTABLE_MMAP_VERSION__ === "string" && __PORTABLE_MMAP_VERSION__) return __PORTABLE_MMAP_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
