/** What the benchmark ran on: CPU, cores, memory, OS, and the version of every contender's runtime. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";

function firstLine(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 20000 })
      .trim()
      .split("\n")[0];
  } catch {
    return undefined;
  }
}

/** Kernel and distribution, as one line (Linux: /etc/os-release's PRETTY_NAME). */
function osName() {
  let distro = "";
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux
  }
  return `${platform()} ${release()}${distro ? ` (${distro})` : ""}`;
}

/** The machine, and the versions of the tools found (`tools` from peers.mjs). */
export function describeMachine(tools) {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model?.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: osName(),
    node: process.version,
    python: tools.python ? firstLine(tools.python, ["--version"]) : undefined,
    bun: tools.bun ? `Bun ${firstLine(tools.bun, ["--version"])}` : undefined,
    cc: tools.cc ? firstLine(tools.cc, ["--version"]) : undefined,
    largeNode:
      tools.largeNode && tools.largeNode !== process.execPath
        ? `Node ${firstLine(tools.largeNode, ["--version"])}`
        : undefined,
    mmapIo: tools.mmapIo ? `@riaskov/mmap-io ${tools.mmapIo.version}` : undefined,
    date: new Date().toISOString().slice(0, 10),
  };
}
