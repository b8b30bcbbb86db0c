/**
 * `portable-mmap check`: every check of `probes.ts` and `other-process.ts`
 * against every backend that loads, in a temporary folder; a backend that
 * should load here and does not is a failure, one the runtime refuses on
 * purpose is not.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BackendName } from "../backends/contract.js";
import { oneLine } from "./info.js";
import { killOtherProcess, otherProcess } from "./other-process.js";
import { type ProbeResult, probes } from "./probes.js";
import { type BackendReport, collectInfo } from "./report.js";
import { denoGlobal, runtimeLabel } from "./runtime.js";

function line(label: string, result: ProbeResult): string {
  const status = result.status === "failed" ? "FAILED" : result.status;
  return `  ${label.padEnd(15)}${status}${result.detail ? `: ${result.detail}` : ""}`;
}

/** Runs one check, turning a throw into a failure. */
async function attempt(run: () => ProbeResult | Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await run();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return {
      status: "failed",
      detail: `${e.code ? `${e.code}: ` : ""}${e.message ?? String(error)}`.replace(/^(\w+): \1: /, "$1: "),
    };
  }
}

/** Prints the checks of one available backend; returns how many failed. */
async function checkBackend(b: BackendReport, dir: string, cliFile: string): Promise<number> {
  let failures = 0;
  const name: BackendName = b.name;
  console.log(`${name}: available`);
  for (const probe of probes) {
    const result = await attempt(() => probe.run(name, path.join(dir, `${name}-${probe.name.replace(/\W/g, "")}.bin`)));
    if (result.status === "failed") failures++;
    console.log(line(probe.name, result));
  }
  const shared = await attempt(() => otherProcess(name, path.join(dir, `${name}-shared.bin`), cliFile));
  if (shared.status === "failed") failures++;
  console.log(line("other process", shared));
  const lacks = b.lacks ?? [];
  console.log(`  ${"lacks".padEnd(15)}${lacks.length ? lacks.join(", ") : "nothing"}`);
  return failures;
}

/** Prints why a backend does not load; returns 1 when that is a failure (it should load and was not refused). */
function reportUnavailable(b: BackendReport): number {
  const failed = b.shouldLoad && !b.refusedByRuntime;
  const what = failed
    ? "FAILED: should load here but does not"
    : b.refusedByRuntime
      ? "not loaded (refused on purpose, not a failure)"
      : "not available here";
  console.log(`${b.name}: ${what}`);
  console.log(`  reason: ${oneLine(b.reason ?? "")}`);
  if (b.refusedByRuntime) console.log(`  refused: ${b.refusedByRuntime}`);
  for (const s of b.solutions ?? []) console.log(`  possible solution: ${s}`);
  return failed ? 1 : 0;
}

/** What Deno must grant `check`, for a hint where a permission was refused. */
const DENO_PERMISSIONS = "--allow-read --allow-write --allow-env --allow-ffi --allow-run (or -A)";

function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e?.message ?? String(error);
  return e?.code && !message.startsWith(`${e.code}:`) ? `${e.code}: ${message}` : message;
}

/** The hint for an error that a Deno permission caused, else "". */
function denoHint(error: unknown): string {
  if (!denoGlobal()) return "";
  const text = errorText(error);
  if (!/Requires \w+ access|NotCapable|PermissionDenied/.test(text) && (error as Error)?.name !== "NotCapable")
    return "";
  return `Nothing was checked. On Deno, check needs ${DENO_PERMISSIONS}.`;
}

/** The bytes of the temporary folder's test: three 64 KiB pages and a bit. */
const PROBE_SIZE = 3 * 65536 + 123;

/**
 * Makes the temporary folder and writes and reads back a file in it, so that
 * a full or unwritable folder is reported once, not as every backend's
 * failure. Returns the folder, or prints why it cannot be used and returns undefined.
 */
function makeTempFolder(folder: { dir?: string }): string | undefined {
  let base: string | undefined;
  let dir: string | undefined;
  try {
    base = os.tmpdir();
    dir = fs.mkdtempSync(path.join(base, "portable-mmap-check-"));
    folder.dir = dir;
    const file = path.join(dir, "write-test.bin");
    const data = Buffer.alloc(PROBE_SIZE);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    fs.writeFileSync(file, data);
    if (!fs.readFileSync(file).equals(data)) throw new Error("the file read back differs from what was written");
    fs.rmSync(file, { force: true });
    return dir;
  } catch (error) {
    try {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // the folder that cannot be written may not be removable either
    }
    folder.dir = undefined;
    console.error(
      `portable-mmap check: cannot use the temporary folder${base ? ` ${base}` : ""}: ${errorText(error)}\n` +
        (denoHint(error) ||
          "Nothing was checked. Set TMPDIR (TEMP on Windows) to a folder with free space that you can write to, and run it again."),
    );
    return undefined;
  }
}

/** Removes the temporary folder; says so where it cannot (a Windows view still held). */
function removeFolder(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    // Windows without placeholders (capability releasesFileOnUnmap false) keeps an
    // unmapped file's view until its buffer is collected, and refuses to delete the file until then.
    console.log(`could not remove ${dir}: ${(error as Error).message} (remove it later)`);
  }
}

/**
 * Removes `dir` and exits with 128 + the signal's number when the process
 * is interrupted (Ctrl-C, SIGINT: 130; SIGTERM: 143), killing the
 * cross-process check's child first. Returns the function that stops listening.
 */
function cleanUpOnSignals(folder: { dir?: string }): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [];
  for (const [signal, status] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    const handler = () => {
      killOtherProcess();
      const { dir } = folder;
      try {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // Windows may refuse while a view is held: nothing more to do on the way out
      }
      console.error(`portable-mmap check: interrupted by ${signal}${dir ? `; removed ${dir}` : ""}`);
      process.exit(status);
    };
    try {
      process.on(signal, handler);
      handlers.push([signal, handler]);
    } catch {
      // a runtime that cannot listen for this signal (Windows has no SIGTERM handler on some runtimes)
    }
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Runs `check`; `cliFile` is the CLI's own file, which the cross-process check runs in a child. Returns the exit status. */
export async function check(cliFile: string): Promise<number> {
  const report = collectInfo();
  console.log(`portable-mmap ${report.version} on ${runtimeLabel(report.runtime)}, ${report.platform}-${report.arch}`);
  console.log(`selected backend: ${report.selected ?? "none"}`);
  // The library throws on first use then: a failure whatever the checks find.
  const noSelection = report.selected
    ? undefined
    : `FAILED: no backend can be selected: ${oneLine(report.selectionError ?? "unknown reason")}`;
  if (noSelection) console.log(noSelection);
  // Listening before the folder exists: a signal in between would leave it behind.
  const folder: { dir?: string } = {};
  const stopListening = cleanUpOnSignals(folder);
  const dir = makeTempFolder(folder);
  if (dir === undefined) {
    stopListening();
    return 1;
  }
  let failures = 0;
  console.log(`checking every backend with temporary files in ${dir}`);
  try {
    for (const b of report.backends) {
      failures += b.available ? await checkBackend(b, dir, cliFile) : reportUnavailable(b);
    }
  } finally {
    removeFolder(dir);
    stopListening();
  }
  if (noSelection) {
    console.log(noSelection);
    return 1;
  }
  console.log(failures ? `${failures} failure(s)` : "every backend that loads here works");
  return failures ? 1 : 0;
}
