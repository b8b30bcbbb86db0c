/**
 * What `PORTABLE_MMAP_BACKEND` says: reading it (never throwing, never
 * prompting on Deno) and turning its value into the backends selection may use.
 */
import type { BackendName } from "../backends/contract.js";

/**
 * The environment variable that limits selection to the backends it lists:
 * one name (`koffi`) or a comma list (`native,koffi`, whitespace around names
 * ignored), tried in that order; the first that loads is used and no other
 * ever is. If none loads, or the value is not a list of distinct backend
 * names, the first call that needs a backend throws `ERR_MMAP_BACKEND`.
 *
 * Unset, empty or blank: automatic selection (native, koffi, fallback), which
 * warns once per process (code `PORTABLE_MMAP_FALLBACK`) when it lands on the
 * fallback; `fallback` chooses it without the warning. On Deno the variable is
 * read only where env access to it is granted; otherwise it counts as unset.
 */
export const BACKEND_ENV = "PORTABLE_MMAP_BACKEND";

/** Backend names in the order automatic selection tries them. */
export const backendNames: readonly BackendName[] = ["native", "koffi", "fallback"];

/** The backends selection may use, from the value of `BACKEND_ENV`. */
export interface BackendSetting {
  /** Whether the variable is set to something other than blanks: then only `allowed` may be selected. */
  forced: boolean;
  /** The backends selection tries, in order; empty when the value is not valid. */
  allowed: BackendName[];
  /** Why the value is not valid: names the bad value and lists the valid names. */
  error?: string;
}

interface DenoPermissions {
  querySync?(descriptor: { name: "env"; variable: string }): { state: string };
}

/**
 * The value of one of the package's environment variables, or undefined
 * where it cannot be read. Deno without env access makes `process.env` throw
 * (`NotCapable`), or ask the user where a terminal is attached: the value is
 * read only where access is already granted (`--allow-env`, or
 * `--allow-env=<name>`).
 */
export function readEnv(name: string): string | undefined {
  try {
    const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
    if (typeof permissions?.querySync === "function") {
      if (permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    }
    return globalThis.process?.env[name];
  } catch {
    return undefined;
  }
}

/** The raw value of `BACKEND_ENV`, or undefined where it cannot be read (see {@link readEnv}). */
export function readBackendEnv(): string | undefined {
  return readEnv(BACKEND_ENV);
}

function problemWith(entry: string, earlier: readonly BackendName[]): string | undefined {
  if (entry === "") return "has an empty entry";
  if (!(backendNames as readonly string[]).includes(entry)) return `names ${JSON.stringify(entry)}, not a backend`;
  if (earlier.includes(entry as BackendName)) return `names ${entry} twice`;
  return undefined;
}

/** Parses a value of `BACKEND_ENV` (undefined: unset). Never throws; a bad value comes back as `error`. */
export function parseBackendSetting(value: string | undefined): BackendSetting {
  if (value === undefined || value.trim() === "") return { forced: false, allowed: [...backendNames] };
  const allowed: BackendName[] = [];
  for (const entry of value.split(",").map((e) => e.trim())) {
    const problem = problemWith(entry, allowed);
    if (problem !== undefined) {
      const valid = `use one or more of ${backendNames.join(", ")}, separated by commas`;
      return { forced: true, allowed: [], error: `${BACKEND_ENV}=${JSON.stringify(value)} ${problem}; ${valid}` };
    }
    allowed.push(entry as BackendName);
  }
  return { forced: true, allowed };
}
