/**
 * The cross-process check of `portable-mmap check`: a child process of the
 * same runtime (the CLI file itself, with a hidden subcommand) maps the same
 * file with the same backend; each side must see the other's write through
 * its own map, with no flush in between.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { RDWR } from "../api/constants.js";
import { mapFileWith } from "../api/map.js";
import { loadBackend } from "../api/select.js";
import { backendNames } from "../api/setting.js";
import type { BackendName } from "../backends/contract.js";
import { CHILD_COMMAND } from "./args.js";
import type { ProbeResult } from "./probes.js";
import { cannotSpawn, runtimeCommand } from "./runtime.js";

const PARENT_BYTE = 0x5a;
const CHILD_BYTE = 0xa5;

/** The child process running now, if any: `check` kills it when it is interrupted. */
let running: ChildProcess | undefined;

/** Kills the child of the cross-process check if one runs (for `check`'s SIGINT and SIGTERM handlers). */
export function killOtherProcess(): void {
  try {
    running?.kill("SIGKILL");
  } catch {
    // already gone
  }
}

interface ChildOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not start or was killed. */
  error?: Error & { code?: string };
  /** Whether it started. */
  started: boolean;
}

/**
 * Runs a child asynchronously (not spawnSync: the event loop must stay free
 * for `check`'s signal handlers, which kill it), killing it after `timeout` ms.
 */
function runChild(command: string, args: string[], timeout: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let error: ChildOutcome["error"];
    let started = false;
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      resolve({ status: null, stdout, stderr, error: e as Error, started });
      return;
    }
    running = child;
    started = child.pid !== undefined;
    const timer = setTimeout(() => {
      error = Object.assign(new Error(`timed out after ${timeout / 1000} s`), { code: "ETIMEDOUT" });
      child.kill("SIGKILL");
    }, timeout);
    let done = false;
    const finish = (status: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (running === child) running = undefined;
      resolve({ status, stdout, stderr, ...(error ? { error } : {}), started });
    };
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (e) => {
      error ??= e;
      // Not started: no "close" may follow.
      if (child.pid === undefined) finish(null);
    });
    child.on("close", (status) => finish(status));
  });
}

/**
 * Maps `file` with backend `name`, writes a byte, and has a child process
 * (`cliFile` run by this runtime) check it sees that byte and write another,
 * which this process must then see in its map.
 */
export async function otherProcess(name: BackendName, file: string, cliFile: string): Promise<ProbeResult> {
  const backend = loadBackend(name);
  if (!backend.capabilities.sharesPageCache)
    return { status: "skipped", detail: `not shared: ${name} maps a copy of the file (sharesPageCache is false)` };
  const refused = cannotSpawn();
  if (refused) return { status: "skipped", detail: refused };
  const page = backend.pageSize;
  fs.writeFileSync(file, Buffer.alloc(2 * page));
  const m = mapFileWith(backend, file, { prot: RDWR });
  try {
    const parentAt = 1;
    const childAt = page + 7;
    m[parentAt] = PARENT_BYTE;
    const runtime = runtimeCommand();
    const args = [
      cliFile,
      CHILD_COMMAND,
      name,
      file,
      String(parentAt),
      String(PARENT_BYTE),
      String(childAt),
      String(CHILD_BYTE),
    ];
    const child = await runChild(runtime.command, [...runtime.args, ...args], 60_000);
    if (child.error) {
      const code = child.error.code;
      // Killed by the timeout: it started and hung. Not started at all (an
      // executable only an emulator runs, as under qemu-user): nothing is known.
      if (code === "ETIMEDOUT" || child.started)
        return { status: "failed", detail: `the child process: ${child.error.message}` };
      return { status: "skipped", detail: `no other process of this runtime could be started: ${child.error.message}` };
    }
    if (child.status !== 0) {
      const output = `${child.stdout}${child.stderr}`.trim().split("\n").slice(-3).join(" | ");
      return { status: "failed", detail: `the child process ended with status ${child.status}: ${output}` };
    }
    if (m[childAt] !== CHILD_BYTE)
      return { status: "failed", detail: "the child's write is not seen in this process's map" };
  } finally {
    m.unmap();
  }
  return { status: "ok", detail: "another process sees this process's write, and this one sees its write" };
}

/**
 * The child's side (the hidden subcommand): `<backend> <file> <readAt> <expected> <writeAt> <value>`.
 * Returns the exit status: 0 when it saw the expected byte and wrote its own, 3 when it saw another, 2 for bad arguments.
 */
export function otherProcessChild(args: readonly string[]): number {
  const [name, file, readAt, expected, writeAt, value] = args;
  if (!(backendNames as readonly (string | undefined)[]).includes(name) || file === undefined || value === undefined) {
    console.error(`usage: ${CHILD_COMMAND} <backend> <file> <readAt> <expected> <writeAt> <value>`);
    return 2;
  }
  const m = mapFileWith(loadBackend(name as BackendName), file, { prot: RDWR });
  const seen = m[Number(readAt)];
  if (seen !== Number(expected)) {
    console.error(`the child sees ${seen} at offset ${readAt}, not ${expected}: the parent's write is not shared`);
    m.unmap();
    return 3;
  }
  // Written and left unflushed: the parent must see it through the shared page.
  m[Number(writeAt)] = Number(value);
  m.unmap();
  return 0;
}
