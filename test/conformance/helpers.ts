/** Shared fixtures of the conformance suite: temporary files, the backend under test, child processes. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo, type Capabilities } from "portable-mmap";
import { afterAll } from "vitest";
import { withLauncher } from "../launcher.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-test-"));
/** Descriptors `withFd` keeps open until the end, for backends that need them until unmap. */
const kept: number[] = [];

/** Closes the kept descriptors and deletes the temporary folder; true once the folder is gone. */
function cleanUp(): boolean {
  for (const fd of kept.splice(0)) {
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed by the test.
    }
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    return true;
  } catch {
    // Windows without placeholders keeps the views of unmapped maps until they are
    // collected (capability releasesFileOnUnmap), and refuses to delete those files until then.
    return false;
  }
}

// After the tests of this module's run: vitest evaluates this module once per test file
// (and its worker processes never emit "exit"); the bundled suite once per process.
let cleaned = false;
afterAll(function removeTempFolder() {
  cleaned = cleanUp();
});
// The backstop: the suite's children import this module too and never run the tests'
// hooks, and a folder Windows would not let go of yet gets another try.
process.on("exit", () => {
  if (!cleaned) cleanUp();
});

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

/**
 * Opens `file`, runs `body` with the descriptor and closes it afterwards.
 * Where the backend under test needs the caller's descriptor until `unmap`
 * (`caps.needsDescriptor`: the fallback on Windows), the descriptor is kept
 * open until the process exits instead, as its documentation asks of callers.
 */
export function withFd<T>(file: string, flags: string, body: (fd: number) => T): T {
  const fd = fs.openSync(file, flags);
  let keep = false;
  try {
    const result = body(fd);
    keep = caps.needsDescriptor;
    return result;
  } finally {
    if (keep) kept.push(fd);
    else fs.closeSync(fd);
  }
}

const info = backendInfo();
if (!info.selected) throw new Error(`No backend selected: ${info.error}`);
const selected = info.backends.find((b) => b.name === info.selected);

/** The name of the backend under test (chosen by PORTABLE_MMAP_BACKEND or automatically). */
export const backendName: string = info.selected;

/** The documented differences of the backend under test. */
export const caps: Capabilities = selected?.capabilities as Capabilities;

/**
 * The folder of the built suite (`build/test`): this file's own folder in the
 * bundled suite, and `../../build/test` when vitest runs this file from source.
 * Children and workers always run from there.
 */
const builtDir = ((here: string) =>
  here.endsWith(".ts") ? path.resolve(path.dirname(here), "../../build/test") : path.dirname(here))(
  fileURLToPath(import.meta.url),
);

/** A script of the built suite (`child.js`, `worker.js`), by name. */
export function builtScript(name: string): string {
  return path.join(builtDir, name);
}

/** The suite's child-process script (child.ts, built next to this file). */
export const childScript = builtScript("child.js");

/** The result of a child process. */
export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Deno's global, where the suite runs on Deno. */
const deno = (globalThis as { Deno?: DenoGlobal }).Deno;

interface DenoGlobal {
  execPath(): string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
}

/**
 * Deno's permissions for a child, as flags: those this process has in full.
 * With `ffi` granted the process can already do anything (Deno warns that
 * native code loaded through FFI runs outside its sandbox), so the child then
 * gets `--allow-all`, which it needs to read /proc/self/maps and /proc/self/fd.
 * With `limits`, it gets the permissions this process has less those withheld.
 */
function denoPermissionFlags(d: DenoGlobal, limits: ChildLimits): string[] {
  const granted = (name: string) => d.permissions.querySync({ name }).state === "granted";
  const withheld = [...(limits.noAddons ? ["ffi"] : []), ...(limits.noEnv ? ["env"] : [])];
  if (granted("ffi") && withheld.length === 0) return ["--allow-all"];
  const names = ["read", "write", "env", "run", "sys", "net", "import", "ffi"];
  return names.filter((name) => granted(name) && !withheld.includes(name)).map((name) => `--allow-${name}`);
}

/** What a child may not do that its parent may. */
export interface ChildLimits {
  /**
   * No native addons, so neither the native nor the koffi backend loads:
   * Node's and Bun's `--no-addons`; on Deno, no `--allow-ffi`.
   */
  noAddons?: boolean;
  /** Deno only: no `--allow-env`, so reading `process.env` throws. */
  noEnv?: boolean;
}

/** Why a child cannot be started with `limits` on this runtime; undefined when it can. */
export function unsupportedLimits(limits: ChildLimits): string | undefined {
  if (limits.noEnv && !deno) return "only Deno can deny a process its environment";
  return undefined;
}

/**
 * This process's runtime options for a child: `execArgv` without code to
 * evaluate (`-e`/`--eval`/`-p`/`--print` and their argument), which would make
 * every child run that code again instead of its script.
 */
function runtimeOptions(): string[] {
  const options: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i] as string;
    if (["-e", "--eval", "-p", "--print"].includes(option)) i++;
    else if (!/^--(eval|print)=/.test(option)) options.push(option);
  }
  return options;
}

/**
 * V8 options every Deno child gets. `--no-concurrent-recompilation`: Deno
 * (seen on 2.9.6, linux-x64) can die by SIGSEGV as it exits when
 * V8 is still optimizing a function on one of its worker threads: the main
 * thread frees memory the compile job still reads (Deno's op data). A
 * child whose last steps are hot (the fallback's flush comparing 64 KiB byte
 * by byte, then `every` over the file) hit it in about 3 % of its runs on a
 * loaded machine, after printing its result. Without concurrent
 * recompilation V8 optimizes on the main thread, so nothing compiles while
 * Deno exits; the child's behaviour is otherwise the same
 * (docs/troubleshooting.md, "A Deno process dies by SIGSEGV as it exits").
 */
export const denoChildV8Flags = ["--no-concurrent-recompilation"];

/**
 * The program and the arguments before the script that start another process
 * of this runtime, given Node-style runtime options (`--expose-gc`):
 * - Node and Bun: the same executable with the same `execArgv`;
 * - Deno: `deno run` with this process's permissions, V8 options as `--v8-flags`
 *   after `denoChildV8Flags`;
 * - `limits` (see `ChildLimits`) withholds what the child may not do;
 * - PORTABLE_MMAP_TEST_LAUNCHER (a program, or a JSON array of a program and its
 *   arguments) goes in front, for a runtime that needs an emulator to start:
 *   under qemu-user, the host cannot run an arm64 executable by itself.
 */
export function runtimeCommand(
  runtimeArgs: string[] = [],
  limits: ChildLimits = {},
): { command: string; args: string[] } {
  const unsupported = unsupportedLimits(limits);
  if (unsupported !== undefined) throw new Error(unsupported);
  let command = process.execPath;
  let args: string[];
  if (deno) {
    command = deno.execPath();
    const v8 = [...denoChildV8Flags, ...runtimeArgs.filter((a) => a.startsWith("--") && !a.startsWith("--v8-flags"))];
    args = ["run", ...denoPermissionFlags(deno, limits), `--v8-flags=${v8.join(",")}`];
  } else {
    args = [...runtimeOptions(), ...runtimeArgs, ...(limits.noAddons ? ["--no-addons"] : [])];
  }
  return withLauncher(command, args);
}

/**
 * Runs `build/test/child.js <command> ...args` in a new process of the same
 * runtime, with the same backend unless `env` says otherwise. `runtimeArgs`
 * are Node's options (`--expose-gc`); `runtimeCommand` translates them, and
 * `limits` withholds what the child may not do.
 */
export function runChild(
  args: string[],
  env: Record<string, string | undefined> = {},
  runtimeArgs: string[] = [],
  limits: ChildLimits = {},
): ChildResult {
  return runScript(childScript, args, env, runtimeArgs, limits);
}

/**
 * Runs `script ...args` in a new process of the same runtime, as `runChild`
 * runs the suite's child: the same backend unless `env` says otherwise, and
 * `runtimeArgs` and `limits` as there.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  runtimeArgs: string[] = [],
  limits: ChildLimits = {},
): ChildResult {
  const childEnv: Record<string, string | undefined> = { ...process.env, PORTABLE_MMAP_BACKEND: backendName, ...env };
  for (const key of Object.keys(childEnv)) {
    if (childEnv[key] !== undefined) continue;
    // Deno's spawnSync passes on a parent's variable that `env` leaves out
    // (denoland/deno#27343), so there an unset variable goes as "", which
    // the package reads as unset.
    if (deno) childEnv[key] = "";
    else delete childEnv[key];
  }
  const runtime = runtimeCommand(runtimeArgs, limits);
  const start = () =>
    spawnSync(runtime.command, [...runtime.args, script, ...args], {
      env: childEnv,
      encoding: "utf8",
      timeout: 120_000,
    });
  let result = start();
  // Wine, on a busy machine, sometimes fails to create the process at all (spawnSync's error
  // UNKNOWN, nothing run): try again twice, a second apart, before calling it a failure.
  for (let retry = 0; retry < 2 && (result.error as NodeJS.ErrnoException | undefined)?.code === "UNKNOWN"; retry++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    result = start();
  }
  if (result.error) {
    // Not started, or killed by the timeout: say so, rather than a bare status null.
    const stderr = `${result.stderr ?? ""}\n${runtime.command} ${runtime.args.join(" ")}: ${result.error.message}`;
    return { status: result.status, signal: result.signal, stdout: result.stdout ?? "", stderr };
  }
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
