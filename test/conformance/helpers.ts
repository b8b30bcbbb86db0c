/** Shared fixtures of the conformance suite: temporary files, the backend under test, child processes. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo, type Capabilities } from "portable-mmap";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-test-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;

/** A new file in the suite's temporary folder with the given contents; returns its path. */
export function tempFile(contents: Uint8Array | string = ""): string {
  const file = path.join(dir, `f${counter++}.bin`);
  fs.writeFileSync(file, contents);
  return file;
}

/** `n` bytes where byte i is `(i * 7 + seed) & 255`: every offset is recognisable. */
export function pattern(n: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + seed) & 255;
  return bytes;
}

/** Opens `file`, runs `body` with the descriptor and closes it afterwards. */
export function withFd<T>(file: string, flags: string, body: (fd: number) => T): T {
  const fd = fs.openSync(file, flags);
  try {
    return body(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const info = backendInfo();
if (!info.selected) throw new Error(`No backend selected: ${info.error}`);
const selected = info.backends.find((b) => b.name === info.selected);

/** The name of the backend under test (chosen by PORTABLE_MMAP_BACKEND or automatically). */
export const backendName: string = info.selected;

/** The documented differences of the backend under test. */
export const caps: Capabilities = selected?.capabilities as Capabilities;

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "child.js");

/** The result of a child process. */
export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `build/test/child.js <command> ...args` in a new process of the same
 * runtime, with the same backend unless `env` says otherwise.
 */
export function runChild(
  args: string[],
  env: Record<string, string | undefined> = {},
  runtimeArgs: string[] = [],
): ChildResult {
  const childEnv: Record<string, string | undefined> = { ...process.env, PORTABLE_MMAP_BACKEND: backendName, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const result = spawnSync(process.execPath, [...process.execArgv, ...runtimeArgs, childScript, ...args], {
    env: childEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts `fn` throws an error with the given class and `code`; returns the error for more checks. */
/** An error as the package throws it: every one has a code, system errors also errno and syscall. */
export type ThrownError = Error & { code: string; errno?: number; syscall?: string };

export function throwsCode(fn: () => unknown, type: ErrorConstructor, code: string): ThrownError {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof type)) throw new Error(`expected a ${type.name} with code ${code}, got ${error}`);
    const coded = error as ThrownError;
    if (coded.code !== code) throw new Error(`expected code ${code}, got ${coded.code}: ${coded.message}`);
    return coded;
  }
  throw new Error(`expected a ${type.name} with code ${code}, nothing was thrown`);
}
