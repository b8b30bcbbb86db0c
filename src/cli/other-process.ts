/**
 * The cross-process check of `portable-mmap check`: a child process of the
 * same runtime (the CLI file itself, with a hidden subcommand) maps the same
 * file with the same backend; each side must see the other's write through
 * its own map, with no flush in between.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
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

/**
 * Maps `file` with backend `name`, writes a byte, and has a child process
 * (`cliFile` run by this runtime) check it sees that byte and write another,
 * which this process must then see in its map.
 */
export function otherProcess(name: BackendName, file: string, cliFile: string): ProbeResult {
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
    const child = spawnSync(runtime.command, [...runtime.args, ...args], { encoding: "utf8", timeout: 60_000 });
    if (child.error) {
      const code = (child.error as { code?: string }).code;
      // Killed by the timeout: it started and hung. Not started at all (an
      // executable only an emulator runs, as under qemu-user): nothing is known.
      if (code === "ETIMEDOUT" || child.pid)
        return { status: "failed", detail: `the child process: ${child.error.message}` };
      return { status: "skipped", detail: `no other process of this runtime could be started: ${child.error.message}` };
    }
    if (child.status !== 0) {
      const output = `${child.stdout ?? ""}${child.stderr ?? ""}`.trim().split("\n").slice(-3).join(" | ");
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
