/**
 * The warning automatic selection gives when it lands on the fallback
 * backend: why native and koffi were not used, what the fallback does not do,
 * and the way out. Once per process.
 */
import type { BackendName } from "../backends/contract.js";
import { BACKEND_ENV } from "./setting.js";

/** The `code` of the warning (`process.on("warning", (w) => w.code === ...)`). */
export const FALLBACK_WARNING_CODE = "PORTABLE_MMAP_FALLBACK";

/** The `type` (the warning's `name`) of the warning. */
export const FALLBACK_WARNING_TYPE = "PortableMmapWarning";

/** A backend that did not load, and why. */
export interface LoadFailure {
  name: BackendName;
  reason: string;
}

/** The text of the warning, given why the backends tried before the fallback did not load. */
export function fallbackWarningMessage(failures: readonly LoadFailure[]): string {
  const why = failures.map((f) => `${f.name}: ${f.reason}`).join("; ");
  return (
    `portable-mmap is using its fallback backend: the native and koffi backends could not be loaded (${why}). ` +
    "The fallback is an emulation, not a memory map: it reads each region into memory and writes changes back " +
    "at flush() and unmap(), so it shares no memory with other processes or with other maps of the same file " +
    "(see docs/fallback.md in the package). For real maps, let the native addon or koffi load: install the " +
    "package with its optional dependencies, do not disable addons (--no-addons), and on Deno allow FFI " +
    `(--allow-ffi). To choose the fallback on purpose, set ${BACKEND_ENV}=fallback, which also silences this warning.`
  );
}

/** Shared by every copy of the package in the process (the ESM and the CommonJS build). */
const warned = Symbol.for("portable-mmap.fallback-warning");

/**
 * Emits the warning with `process.emitWarning`, at most once per process.
 * Does nothing where `process.emitWarning` does not exist.
 */
export function warnFallback(failures: readonly LoadFailure[]): void {
  const flags = globalThis as { [warned]?: boolean };
  const proc = globalThis.process as NodeJS.Process | undefined;
  if (flags[warned] || typeof proc?.emitWarning !== "function") return;
  flags[warned] = true;
  proc.emitWarning(fallbackWarningMessage(failures), { type: FALLBACK_WARNING_TYPE, code: FALLBACK_WARNING_CODE });
}
