/**
 * What the CLI needs to know about the runtime it runs on: its name and
 * version, the C library, what it refuses on purpose (addons, FFI), and how
 * to start another process of it.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

/** The JavaScript runtime, as `info --json` names it. */
export interface RuntimeId {
  /** `node`, `bun` or `deno`. */
  name: "node" | "bun" | "deno";
  /** Its version, without a leading `v`. */
  version: string;
}

interface DenoGlobal {
  execPath(): string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
}

/** Deno's global object, where the CLI runs on Deno. */
export function denoGlobal(): DenoGlobal | undefined {
  return (globalThis as { Deno?: DenoGlobal }).Deno;
}

/** The runtime this process runs on. */
export function runtimeId(): RuntimeId {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return { name: "bun", version: versions.bun };
  if (versions.deno) return { name: "deno", version: versions.deno };
  return { name: "node", version: process.version.replace(/^v/, "") };
}

/** The runtime as a person reads it: `Node.js 22.1.0`, `Bun 1.1.0`, `Deno 2.0.0`. */
export function runtimeLabel(id: RuntimeId = runtimeId()): string {
  return `${{ node: "Node.js", bun: "Bun", deno: "Deno" }[id.name]} ${id.version}`;
}

/** The C library on Linux (`glibc` or `musl`), as prebuilds are tagged; undefined elsewhere or when unknown. */
export function libc(): "glibc" | "musl" | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const report = (process as { report?: { getReport?(): unknown } }).report?.getReport?.() as
      | { header?: { glibcVersionRuntime?: string } }
      | undefined;
    if (report?.header?.glibcVersionRuntime) return "glibc";
  } catch {
    // no process.report here (or no permission): look at the files
  }
  try {
    if (existsSync("/etc/alpine-release")) return "musl";
    if (readdirSync("/lib").some((f) => f.startsWith("ld-musl-"))) return "musl";
    if (readdirSync("/lib").some((f) => f.startsWith("libc.so.6")) || existsSync("/lib64/ld-linux-x86-64.so.2"))
      return "glibc";
  } catch {
    // not readable (Deno without --allow-read)
  }
  return undefined;
}

/**
 * How the runtime refused to load a backend on purpose, read from the reason
 * the backend gave; undefined when the reason is something else (a missing
 * file, a failed load). Such a refusal is the user's choice, not a fault.
 */
export function runtimeRefusal(reason: string): string | undefined {
  if (/loading addons is disabled/i.test(reason)) {
    const permissions = process.execArgv.some((a) => a === "--permission" || a === "--experimental-permission");
    return permissions
      ? `${runtimeLabel()} runs with its permission model and without --allow-addons`
      : `${runtimeLabel()} runs with --no-addons`;
  }
  const deno = /Requires (\w+) access/.exec(reason);
  if (deno) return `Deno runs without --allow-${deno[1]}`;
  if (/refuses external ArrayBuffers/.test(reason)) return "the runtime refuses external ArrayBuffers";
  return undefined;
}

/**
 * Deno's permissions as flags for a child: `--allow-all` where this process
 * has FFI (it can then do anything already), else each permission it has in full.
 */
function denoPermissionFlags(deno: DenoGlobal): string[] {
  const granted = (name: string) => {
    try {
      return deno.permissions.querySync({ name }).state === "granted";
    } catch {
      return false;
    }
  };
  if (granted("ffi")) return ["--allow-all"];
  const names = ["read", "write", "env", "run", "sys", "net", "import"];
  return names.filter(granted).map((name) => `--allow-${name}`);
}

let spawnProblem: { why: string | undefined } | undefined;

/**
 * Why this process cannot start a child of its own runtime; undefined when it
 * can. Found out once, by running the runtime's `--version`: under an
 * emulator that the kernel does not start by itself (qemu-user without
 * binfmt_misc) the executable does not run, or runs as a shell script.
 */
export function cannotSpawn(): string | undefined {
  spawnProblem ??= { why: findSpawnProblem() };
  return spawnProblem.why;
}

function findSpawnProblem(): string | undefined {
  const deno = denoGlobal();
  if (deno) {
    try {
      if (deno.permissions.querySync({ name: "run" }).state !== "granted")
        return "Deno runs without --allow-run, so no other process can be started";
    } catch {
      return "Deno's permissions cannot be queried";
    }
  }
  const program = deno ? deno.execPath() : process.execPath;
  const result = spawnSync(program, ["--version"], { encoding: "utf8", timeout: 60_000 });
  const version = runtimeId().version;
  if (result.status === 0 && (result.stdout ?? "").includes(version)) return undefined;
  const seen = result.error ? result.error.message : `status ${result.status}`;
  return `${program} --version does not run here (${seen}): this runtime cannot start another process of itself (an emulator?)`;
}

/** The program and the arguments before a script that start another process of this runtime with the same options. */
export function runtimeCommand(): { command: string; args: string[] } {
  const deno = denoGlobal();
  if (deno) return { command: deno.execPath(), args: ["run", ...denoPermissionFlags(deno)] };
  const args: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i] as string;
    // Code to evaluate would run again instead of the script.
    if (["-e", "--eval", "-p", "--print"].includes(option)) i++;
    else if (!/^--(eval|print)=/.test(option)) args.push(option);
  }
  return { command: process.execPath, args };
}
