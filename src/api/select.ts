/**
 * Backend selection: lazily, at the first call that needs a backend, in the
 * order native -> koffi -> fallback, or the one `PORTABLE_MMAP_BACKEND` names.
 */
import type { Backend, BackendLoader, BackendName, Capabilities } from "../backends/contract.js";
import { load as loadFallback } from "../backends/fallback/index.js";
import { load as loadKoffi } from "../backends/koffi/index.js";
import { load as loadNative } from "../backends/native/index.js";
import { backendError } from "./errors.js";

/** The environment variable that forces one backend. */
export const BACKEND_ENV = "PORTABLE_MMAP_BACKEND";

/** Backend names in the order automatic selection tries them. */
export const backendNames: readonly BackendName[] = ["native", "koffi", "fallback"];

const loaders: Record<BackendName, BackendLoader> = { native: loadNative, koffi: loadKoffi, fallback: loadFallback };

/** Whether one backend loads on this host, and why not. */
export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why it is not available; empty when it is. */
  reason: string;
  /** How it differs from a real mapping, when it is available. */
  capabilities?: Capabilities;
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** The backend in use, or null if none could be selected (then `error` says why). */
  selected: BackendName | null;
  /** Whether `PORTABLE_MMAP_BACKEND` chose it. */
  forced: boolean;
  /** Why selection failed, when `selected` is null. */
  error?: string;
  /** Every backend, in selection order, with whether it loads here. */
  backends: BackendStatus[];
}

const attempts = new Map<BackendName, { backend?: Backend; reason: string }>();
let chosen: { backend?: Backend; forced: boolean; error?: Error } | undefined;

/** Loads one backend by name (once; the outcome is cached). Throws the reason if it cannot load. */
export function loadBackend(name: BackendName): Backend {
  let attempt = attempts.get(name);
  if (!attempt) {
    try {
      attempt = { backend: loaders[name](), reason: "" };
    } catch (error) {
      attempt = { reason: error instanceof Error ? error.message : String(error) };
    }
    attempts.set(name, attempt);
  }
  if (!attempt.backend) throw backendError(`The ${name} backend is not available: ${attempt.reason}`);
  return attempt.backend;
}

function forcedName(): string | undefined {
  const value = process.env[BACKEND_ENV];
  return value === undefined || value === "" ? undefined : value;
}

function choose(): NonNullable<typeof chosen> {
  const forced = forcedName();
  if (forced !== undefined) {
    if (!(backendNames as readonly string[]).includes(forced)) {
      const error = backendError(`${BACKEND_ENV}=${forced} is not a backend; use one of ${backendNames.join(", ")}`);
      return { forced: true, error };
    }
    try {
      return { backend: loadBackend(forced as BackendName), forced: true };
    } catch (error) {
      return { forced: true, error: error as Error };
    }
  }
  for (const name of backendNames) {
    try {
      return { backend: loadBackend(name), forced: false };
    } catch {
      // Keep going; the reason stays in `attempts` for backendInfo().
    }
  }
  return { forced: false, error: backendError("No backend could be loaded") };
}

/** The selected backend, chosen at the first call. Throws `ERR_MMAP_BACKEND` if none can be used. */
export function selectedBackend(): Backend {
  chosen ??= choose();
  if (!chosen.backend) throw chosen.error;
  return chosen.backend;
}

/**
 * Which backend is in use, whether the environment forced it, and for every
 * backend whether it loads on this host and why not. Never throws; it tries
 * to load each backend to find out.
 */
export function backendInfo(): BackendInfo {
  chosen ??= choose();
  const backends = backendNames.map((name): BackendStatus => {
    try {
      return { name, available: true, reason: "", capabilities: loadBackend(name).capabilities };
    } catch {
      return { name, available: false, reason: attempts.get(name)?.reason ?? "" };
    }
  });
  const info: BackendInfo = { selected: chosen.backend?.name ?? null, forced: chosen.forced, backends };
  if (chosen.error) info.error = chosen.error.message;
  return info;
}
