/**
 * What `portable-mmap info` reports, gathered once: the object `info --json`
 * prints and `info` and `check` print as text. docs/troubleshooting.md
 * documents every field; add fields rather than change them.
 *
 * @module
 */
import { createRequire } from "node:module";
import { relative, sep } from "node:path";
import { backendInfo, loadBackend } from "../api/select.js";
import { readBackendEnv } from "../api/setting.js";
import { addonPath, packageRoot } from "../backends/addon.js";
import type { BackendName, Capabilities } from "../backends/contract.js";
import { packageRequire } from "../backends/module-location.js";
import { packageVersion } from "./package-version.js";
import { libc, type RuntimeId, runtimeId, runtimeRefusal } from "./runtime.js";
import { solutionsFor } from "./solutions.js";

/** Where the native addon file was found. */
export interface AddonReport {
  /** Absolute path of the addon file node-gyp-build chose. */
  path: string;
  /** The same relative to the package root, with `/` separators (`build/Release/portable_mmap.node`). */
  relativePath: string;
  /** `build` (a local build in build/Release), `prebuild` (prebuilds/<platform>-<arch>) or `other`. */
  source: "build" | "prebuild" | "other";
  /** Whether it loaded. */
  loaded: boolean;
}

/** One backend in the report. */
export interface BackendReport {
  /** `native`, `koffi` or `fallback`. */
  name: BackendName;
  /** Whether it loads in this process. */
  available: boolean;
  /**
   * Whether it should load here: its binary for this platform is installed
   * (native: an addon file was found; koffi: koffi and its platform package,
   * and the binary failed to load rather than koffi proving unusable on this
   * runtime, "koffi backend unusable"; fallback: always).
   */
  shouldLoad: boolean;
  /** Why it does not load (only when not available). */
  reason?: string;
  /** Set when the runtime refused it on purpose (`--no-addons`, Deno's permissions): says how. Not a fault. */
  refusedByRuntime?: string;
  /** Possible solutions, best first (only when not available). */
  solutions?: string[];
  /** Its capability flags (only when available). */
  capabilities?: Capabilities;
  /** The `advise()` values that reach the system (only when available). */
  advice?: string[];
  /**
   * The capabilities it lacks (only when available): the flags that are
   * false, but `needsDescriptor`, which is listed when true (a limitation).
   */
  lacks?: string[];
}

/** The object `portable-mmap info --json` prints. */
export interface InfoReport {
  /** Version of this object's shape; grows when fields are added. */
  schema: 2;
  /** The package's version. */
  version: string;
  /** The package root (the folder of its package.json), or null if not found. */
  packageRoot: string | null;
  /** The JavaScript runtime. */
  runtime: RuntimeId;
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
  /** `glibc` or `musl` on Linux where known; absent elsewhere. */
  libc?: "glibc" | "musl";
  /** The backend automatic selection (or PORTABLE_MMAP_BACKEND) chose, or null. */
  selected: BackendName | null;
  /** Why none was selected (only when `selected` is null). */
  selectionError?: string;
  /** The value of PORTABLE_MMAP_BACKEND, or null when unset. */
  backendEnv: string | null;
  /** Whether PORTABLE_MMAP_BACKEND limits the choice. */
  forced: boolean;
  /** The backends selection may choose from, in order. */
  allowed: BackendName[];
  /** Page size of the selected backend (null when none). */
  pageSize: number | null;
  /** Alignment of mapping offsets of the selected backend (null when none). */
  allocationGranularity: number | null;
  /** The native addon file found for this platform, or null when none was found. */
  addon: AddonReport | null;
  /** Every backend, in automatic selection order. */
  backends: BackendReport[];
}

function safeRoot(): string | null {
  try {
    return packageRoot();
  } catch {
    return null;
  }
}

/** Whether koffi and its binary package for this platform are installed. */
function koffiInstalled(): boolean {
  try {
    const koffi = packageRequire().resolve("koffi");
    createRequire(koffi).resolve(`@koromix/koffi-${process.platform}-${process.arch}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function addonReport(root: string | null, loaded: boolean): AddonReport | null {
  const file = addonPath();
  if (file === undefined) return null;
  const rel = root ? relative(root, file).split(sep).join("/") : file;
  const source = rel.startsWith("build/") ? "build" : rel.startsWith("prebuilds/") ? "prebuild" : "other";
  return { path: file, relativePath: rel, source, loaded };
}

function capabilityGaps(capabilities: Capabilities): string[] {
  return Object.entries(capabilities)
    .filter(([key, value]) => (key === "needsDescriptor" ? value === true : value === false))
    .map(([key]) => key);
}

/** Gathers the report; loads every backend to find out (as `backendInfo()` does). */
export function collectInfo(): InfoReport {
  const info = backendInfo();
  const root = safeRoot();
  const id = runtimeId();
  const lib = libc();
  const target = `${process.platform}-${process.arch}${lib ? `-${lib}` : ""}`;
  const nativeStatus = info.backends.find((b) => b.name === "native");
  const addon = addonReport(root, nativeStatus?.available ?? false);
  const backends = info.backends.map((b): BackendReport => {
    if (b.available && b.capabilities)
      return {
        name: b.name,
        available: true,
        shouldLoad: true,
        capabilities: { ...b.capabilities },
        advice: [...(b.advice ?? [])],
        lacks: capabilityGaps(b.capabilities),
      };
    const shouldLoad =
      b.name === "fallback" ||
      (b.name === "native" && addon !== null) ||
      (b.name === "koffi" && koffiInstalled() && /koffi could not be loaded/.test(b.reason));
    const refusal = runtimeRefusal(b.reason);
    const context = { reason: b.reason, target, ...(addon ? { addonFile: addon.relativePath } : {}) };
    return {
      name: b.name,
      available: false,
      shouldLoad,
      reason: b.reason,
      ...(refusal ? { refusedByRuntime: refusal } : {}),
      solutions: solutionsFor(b.name, context),
    };
  });
  let pageSize: number | null = null;
  let allocationGranularity: number | null = null;
  if (info.selected) {
    const selected = loadBackend(info.selected);
    pageSize = selected.pageSize;
    allocationGranularity = selected.allocationGranularity;
  }
  const report: InfoReport = {
    schema: 2,
    version: packageVersion(),
    packageRoot: root,
    runtime: id,
    platform: process.platform,
    arch: process.arch,
    ...(lib ? { libc: lib } : {}),
    selected: info.selected,
    ...(info.error ? { selectionError: info.error } : {}),
    backendEnv: readBackendEnv() ?? null,
    forced: info.forced,
    allowed: info.allowed,
    pageSize,
    allocationGranularity,
    addon,
    backends,
  };
  return report;
}
