/**
 * The version of the installed package, for `--version` and `info`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../backends/addon.js";

/** The `version` field of the package root's package.json, or "unknown" if it cannot be read. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
