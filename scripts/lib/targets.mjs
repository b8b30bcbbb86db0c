// The prebuilt addons a release ships, in the one place the release workflow,
// `npm run build:prebuilds` and the pack check (scripts/check-prebuilds.mjs) read them.
import * as fs from "node:fs";

/**
 * Every prebuild a release promises: the folder node-gyp-build searches
 * (`prebuilds/<platform>-<arch>`), the libc tag on Linux, and the GitHub
 * runner that builds it in .github/workflows/release.yml, and where on it:
 * the glibc builds run as a job container in Debian 12 (node:20-bookworm,
 * which has g++, make and Python), the toolchain `npm run build:prebuilds` is
 * checked with here (the build fails if the addon needs a glibc newer than
 * 2.28); the musl builds run with `docker run` in Alpine, not as a job
 * container, since the runner cannot run JavaScript actions (checkout,
 * upload-artifact) in an Alpine container on arm64.
 */
export const releaseTargets = [
  { id: "linux-x64-glibc", dir: "linux-x64", libc: "glibc", runner: "ubuntu-24.04", container: "node:20-bookworm" },
  { id: "linux-x64-musl", dir: "linux-x64", libc: "musl", runner: "ubuntu-24.04", docker: "node:20-alpine" },
  {
    id: "linux-arm64-glibc",
    dir: "linux-arm64",
    libc: "glibc",
    runner: "ubuntu-24.04-arm",
    container: "node:20-bookworm",
  },
  { id: "linux-arm64-musl", dir: "linux-arm64", libc: "musl", runner: "ubuntu-24.04-arm", docker: "node:20-alpine" },
  { id: "darwin-x64", dir: "darwin-x64", runner: "macos-15-intel" },
  { id: "darwin-arm64", dir: "darwin-arm64", runner: "macos-15" },
  { id: "win32-x64", dir: "win32-x64", runner: "windows-2025" },
  { id: "win32-arm64", dir: "win32-arm64", runner: "windows-11-arm" },
];

/** The file name node-gyp-build looks for (see its parseTags): `<name>[.<libc>].node`, any Node version (Node-API). */
export function prebuildFile(name, libc) {
  return libc ? `${name}.${libc}.node` : `${name}.node`;
}

/** "glibc" or "musl" on Linux (what this process runs on), else undefined. */
export function hostLibc() {
  if (process.platform !== "linux") return undefined;
  if (fs.existsSync("/etc/alpine-release")) return "musl";
  const header = process.report?.getReport?.().header;
  return header?.glibcVersionRuntime ? "glibc" : "musl";
}
