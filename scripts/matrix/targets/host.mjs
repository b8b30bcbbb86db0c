/**
 * The runtimes of the machine the matrix runs on, as they are: this Node,
 * and `bun` and `deno` where they are on PATH. `--host` runs only these; the
 * GitHub workflow uses it on each real platform (Linux, macOS, Windows; x64
 * and arm64), so every host prints the same table.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { denoArgs } from "./deno.mjs";

const platform = `${process.platform}-${process.arch}`;

/** The full path of `name` on PATH (with Windows' extensions), or undefined. */
function which(name) {
  const extensions = process.platform === "win32" ? [".exe", ".cmd", ""] : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const ext of extensions) {
      const file = path.join(dir, name + ext);
      if (dir && fs.existsSync(file) && fs.statSync(file).isFile()) return file;
    }
  }
  return undefined;
}

function versionOf(command) {
  const out = spawnSync(command, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown";
}

function launcher(runtime, command, args, version) {
  return {
    runtime,
    version,
    source: `${command} on this host`,
    command,
    args,
    env: {},
    path: (file) => file,
    timeoutMs: 10 * 60_000,
  };
}

/** This host's Node, Bun and Deno (the last two only where found on PATH; Node always). */
export function hostTargets() {
  const major = process.versions.node.split(".")[0];
  const targets = [
    {
      id: `${platform}-node${major}`,
      platform,
      runtime: "node",
      label: `${platform} Node ${major}`,
      prepare: async () => launcher("node", process.execPath, [], process.versions.node),
    },
  ];
  const bun = which("bun");
  if (bun)
    targets.push({
      id: `${platform}-bun`,
      platform,
      runtime: "bun",
      label: `${platform} Bun`,
      prepare: async () => launcher("bun", bun, [], versionOf(bun)),
    });
  const deno = which("deno");
  if (deno)
    targets.push({
      id: `${platform}-deno`,
      platform,
      runtime: "deno",
      label: `${platform} Deno`,
      prepare: async () => ({ ...launcher("deno", deno, [], versionOf(deno)), ...denoArgs() }),
    });
  return targets;
}
