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
import { otherProcess } from "./other-process.js";
import { type ProbeResult, probes } from "./probes.js";
import { type BackendReport, collectInfo } from "./report.js";
import { runtimeLabel } from "./runtime.js";

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

/** Runs `check`; `cliFile` is the CLI's own file, which the cross-process check runs in a child. Returns the exit status. */
export async function check(cliFile: string): Promise<number> {
  const report = collectInfo();
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-check-"));
  } catch (error) {
    console.error(`portable-mmap check: cannot make a temporary folder: ${(error as Error).message}`);
    return 1;
  }
  let failures = 0;
  console.log(`portable-mmap ${report.version} on ${runtimeLabel(report.runtime)}, ${report.platform}-${report.arch}`);
  console.log(`selected backend: ${report.selected ?? "none"}`);
  console.log(`checking every backend with temporary files in ${dir}`);
  try {
    for (const b of report.backends) {
      failures += b.available ? await checkBackend(b, dir, cliFile) : reportUnavailable(b);
    }
  } finally {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      // Windows without placeholders (capability releasesFileOnUnmap false) keeps an
      // unmapped file's view until its buffer is collected, and refuses to delete the file until then.
      console.log(`could not remove ${dir}: ${(error as Error).message} (remove it later)`);
    }
  }
  console.log(failures ? `${failures} failure(s)` : "every backend that loads here works");
  return failures ? 1 : 0;
}
