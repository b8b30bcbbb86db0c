/**
 * linux-x64 Bun: the newest `bun` on npm, whose binary comes in the platform
 * package it depends on (`@oven/bun-linux-x64`, the same version). Only that
 * package is fetched, so bun's postinstall never runs.
 */
import * as path from "node:path";
import { fetchPackage, resolveVersion } from "../cache.mjs";

/** The Bun target. */
export const bunTarget = {
  id: "linux-x64-bun",
  platform: "linux-x64",
  runtime: "bun",
  label: "linux-x64 Bun",
  async prepare() {
    if (process.platform !== "linux" || process.arch !== "x64") throw new Error("needs a linux-x64 host");
    const version = resolveVersion("bun", "latest");
    const dir = await fetchPackage("@oven/bun-linux-x64", version);
    return {
      runtime: "bun",
      version,
      source: `npm bun@${version} (@oven/bun-linux-x64)`,
      command: path.join(dir, "bin", "bun"),
      args: [],
      env: {},
      path: (file) => file,
      timeoutMs: 10 * 60_000,
    };
  },
};
