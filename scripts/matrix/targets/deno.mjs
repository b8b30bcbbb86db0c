/**
 * linux-x64 Deno: the newest `deno` on npm, whose binary comes in the
 * platform package it depends on (`@deno/linux-x64-glibc`, the same version).
 *
 * Two permission sets: the library needs `--allow-ffi --allow-env
 * --allow-read --allow-write`, and the matrix first checks that every backend
 * loads with exactly those. The suite itself then runs with `--allow-all`,
 * because it looks at the process from inside (/proc/self/status,
 * /proc/self/maps), which Deno allows only with all permissions, and starts
 * child processes.
 */
import * as path from "node:path";
import { cacheDir, fetchPackage, resolveVersion } from "../cache.mjs";

/** What the library needs on Deno; every backend must load with exactly these. */
export const denoLibraryPermissions = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write"];

/** The launcher fields for Deno: the suite with all permissions, the backend check with the library's. */
export function denoArgs() {
  return {
    args: ["run", "--allow-all"],
    probeArgs: ["run", ...denoLibraryPermissions],
    probeNote: `with deno run ${denoLibraryPermissions.join(" ")}`,
  };
}

/** The Deno target. */
export const denoTarget = {
  id: "linux-x64-deno",
  platform: "linux-x64",
  runtime: "deno",
  label: "linux-x64 Deno",
  async prepare() {
    if (process.platform !== "linux" || process.arch !== "x64") throw new Error("needs a linux-x64 host");
    const version = resolveVersion("deno", "latest");
    const dir = await fetchPackage("@deno/linux-x64-glibc", version);
    return {
      runtime: "deno",
      version,
      source: `npm deno@${version} (@deno/linux-x64-glibc)`,
      command: path.join(dir, "deno"),
      ...denoArgs(),
      env: { DENO_DIR: path.join(cacheDir, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      path: (file) => file,
      timeoutMs: 10 * 60_000,
    };
  },
};
