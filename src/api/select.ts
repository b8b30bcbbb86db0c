/**
 * Backend selection: lazily, at the first call that needs a backend, the
 * first that loads in the order native -> koffi -> fallback, or among only
 * those `PORTABLE_MMAP_BACKEND` lists, in its order.
 */
import type { Advice, Backend, BackendLoader, BackendName, Capabilities } from "../backends/contract.js";
import { load as loadFallback } from "../backends/fallback/index.js";
import { load as loadKoffi } from "../backends/koffi/index.js";
import { load as loadNative } from "../backends/native/index.js";
import { backendError } from "./errors.js";
import { type LoadFailure, warnFallback } from "./fallback-warning.js";
import { BACKEND_ENV, backendNames, parseBackendSetting, readBackendEnv } from "./setting.js";

/** Whether one backend loads on this host, and why not. */
export interface BackendStatus {
  /** The backend. */
  name: BackendName;
  /** Whether it loads on this host (and runtime, with its permissions). */
  available: boolean;
  /** Why it is not available; empty when it is. */
  reason: string;
  /** How it differs from a real mapping, when it is available. */
  capabilities?: Capabilities;
  /** The `advise()` values that reach the system, when it is available (see `adviceSupported`). */
  advice?: readonly Advice[];
  /** The process's mappings made by this backend, where it counts them (native, koffi). */
  mappings?: MappingCounts;
}

/** How many mappings a backend holds (for diagnostics: what is holding address space). */
export interface MappingCounts {
  /** Maps neither unmapped nor released yet (dropped maps count until they are collected). */
  live: number;
  /**
   * Unmapped maps whose address range is still reserved, as zero pages that
   * use no memory, until nothing can point at it any more (their buffer
   * objects are collected).
   */
  retired: number;
}

function countsOf(backend: Backend): { mappings?: MappingCounts } {
  const counters = backend.counters;
  return counters ? { mappings: { live: counters[1] as number, retired: counters[2] as number } } : {};
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** The backend in use, or null if none could be selected (then `error` says why). */
  selected: BackendName | null;
  /** Whether `PORTABLE_MMAP_BACKEND` is set (to anything but blanks), so that only `allowed` may be selected. */
  forced: boolean;
  /**
   * The backends selection may choose from, in the order it tries them: those
   * `PORTABLE_MMAP_BACKEND` lists, or every backend when it is unset. Empty
   * when its value is not valid (then `error` says why).
   */
  allowed: BackendName[];
  /** Why selection failed, when `selected` is null. */
  error?: string;
  /** Every backend, in automatic selection order, with whether it loads here (whether or not it is allowed). */
  backends: BackendStatus[];
}

/** What a selector works with; the package uses the real backends and environment, unit tests inject their own. */
export interface SelectorOptions {
  /** Loads each backend; throws why it cannot. */
  loaders: Readonly<Record<BackendName, BackendLoader>>;
  /** The value of `PORTABLE_MMAP_BACKEND`, undefined when unset or unreadable. */
  readSetting(): string | undefined;
  /** Called once, when automatic selection lands on the fallback, with why the backends before it did not load. */
  onFallback(failures: readonly LoadFailure[]): void;
}

/** One selection state: load attempts (each made once) and the choice (made at the first call). */
export interface Selector {
  /** Loads one backend by name (once; the outcome is cached). Throws `ERR_MMAP_BACKEND` with the reason if it cannot load. */
  load(name: BackendName): Backend;
  /** The selected backend, chosen at the first call. Throws `ERR_MMAP_BACKEND` if none can be used. */
  selected(): Backend;
  /** What `backendInfo()` reports. Never throws. */
  info(): BackendInfo;
}

interface Choice {
  backend?: Backend;
  forced: boolean;
  allowed: BackendName[];
  error?: Error;
}

function describeFailures(failures: readonly LoadFailure[]): string {
  return failures.map((f) => `${f.name}: ${f.reason}`).join("; ");
}

/** A selection state over the given loaders and setting. */
export function createSelector(options: SelectorOptions): Selector {
  const attempts = new Map<BackendName, { backend?: Backend; reason: string }>();
  let chosen: Choice | undefined;

  function attempt(name: BackendName): { backend?: Backend; reason: string } {
    let result = attempts.get(name);
    if (!result) {
      try {
        result = { backend: options.loaders[name](), reason: "" };
      } catch (error) {
        result = { reason: error instanceof Error ? error.message : String(error) };
      }
      attempts.set(name, result);
    }
    return result;
  }

  function load(name: BackendName): Backend {
    const result = attempt(name);
    if (!result.backend) throw backendError(`The ${name} backend is not available: ${result.reason}`);
    return result.backend;
  }

  function choose(): Choice {
    const { forced, allowed, error } = parseBackendSetting(options.readSetting());
    if (error !== undefined) return { forced, allowed, error: backendError(error) };
    const failures: LoadFailure[] = [];
    for (const name of allowed) {
      const { backend, reason } = attempt(name);
      if (backend) {
        if (name === "fallback" && !forced) options.onFallback(failures);
        return { backend, forced, allowed };
      }
      failures.push({ name, reason });
    }
    const listed = `${BACKEND_ENV}=${allowed.join(",")}`;
    const [only] = failures;
    const message = !forced
      ? `No backend could be loaded: ${describeFailures(failures)}`
      : failures.length === 1 && only
        ? `The ${only.name} backend is not available: ${only.reason} (${listed} allows no other)`
        : `None of the backends ${listed} allows could be loaded, and no other is tried: ${describeFailures(failures)}`;
    return { forced, allowed, error: backendError(message) };
  }

  function selected(): Backend {
    chosen ??= choose();
    if (!chosen.backend) throw chosen.error;
    return chosen.backend;
  }

  function info(): BackendInfo {
    chosen ??= choose();
    const backends = backendNames.map((name): BackendStatus => {
      const { backend, reason } = attempt(name);
      return backend
        ? {
            name,
            available: true,
            reason: "",
            capabilities: backend.capabilities,
            advice: backend.advice,
            ...countsOf(backend),
          }
        : { name, available: false, reason };
    });
    const result: BackendInfo = {
      selected: chosen.backend?.name ?? null,
      forced: chosen.forced,
      allowed: [...chosen.allowed],
      backends,
    };
    if (chosen.error) result.error = chosen.error.message;
    return result;
  }

  return { load, selected, info };
}

const selector = createSelector({
  loaders: { native: loadNative, koffi: loadKoffi, fallback: loadFallback },
  readSetting: readBackendEnv,
  onFallback: warnFallback,
});

/** Loads one backend by name (once; the outcome is cached). Throws `ERR_MMAP_BACKEND` with the reason if it cannot load. */
export function loadBackend(name: BackendName): Backend {
  return selector.load(name);
}

/** The selected backend, chosen at the first call. Throws `ERR_MMAP_BACKEND` if none can be used. */
export function selectedBackend(): Backend {
  return selector.selected();
}

/**
 * Which backend is in use, whether `PORTABLE_MMAP_BACKEND` limits the choice
 * and to which backends, and for every backend whether it loads on this host
 * and why not. Never throws; it tries to load each backend to find out.
 * `npx portable-mmap info` prints the same.
 *
 * @example Why am I on the fallback?
 * ```ts
 * import { backendInfo } from "portable-mmap";
 *
 * const info = backendInfo();
 * console.log(info.selected);
 * for (const b of info.backends) console.log(b.name, b.available ? "loads" : b.reason);
 * ```
 */
export function backendInfo(): BackendInfo {
  return selector.info();
}
