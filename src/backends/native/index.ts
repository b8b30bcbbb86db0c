/**
 * The native backend: a small Node-API addon (`native/mmap.cc`) that makes the
 * system calls and hands JavaScript a zero-copy external `ArrayBuffer` over
 * the mapped memory. Loaded with `node-gyp-build` from the package root
 * (`build/Release` after a local build, else `prebuilds/<platform>-<arch>`).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { systemError, win32Error } from "../../api/errors.js";
import type { Advice, Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";

/** The raw addon, as `native/mmap.cc` exports it. Calls return 0 or an error code. */
interface Addon {
  /** [handle of the last `map` (or error code of `fileSize`), index into `syscalls` of the last failing call]. */
  readonly scratch: Float64Array;
  readonly syscalls: readonly string[];
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** 0 (napi_ok) if the runtime accepts external ArrayBuffers, else the napi_status. */
  readonly externalBuffers: number;
  /** Error codes are Win32 (GetLastError) values rather than errno values. */
  readonly windows: boolean;
  /** Missing where the addon cannot stat descriptors (statx refused by a seccomp filter); the API then uses fstatSync. */
  fileSize?(fd: number): number;
  map(fd: number, offset: number, length: number, flags: number): ArrayBuffer | number;
  unmap(handle: number, buffer: ArrayBuffer): number;
  flush(handle: number, offset: number, length: number): number;
  flushAsync(handle: number, offset: number, length: number): Promise<void> | number;
  lock(handle: number, offset: number, length: number): number;
  unlock(handle: number, offset: number, length: number): number;
  advise(handle: number, offset: number, length: number, advice: number): number;
  protect(handle: number, offset: number, length: number, flags: number): number;
  residency(handle: number, offset: number, length: number, out: Uint8Array): number;
  detach(buffer: ArrayBuffer): void;
}

// Bits of the `flags` argument of map/protect (native/mmap.cc `Flags`).
const SHARED = 1;
const WRITABLE = 2;
const EXEC = 4;
const ANON = 8;

const adviceIds: Record<Advice, number> = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4 };

// napi_status 22 (js_native_api_types.h).
const NAPI_NO_EXTERNAL_BUFFERS_ALLOWED = 22;

const capabilities: Capabilities = Object.freeze({
  sharesPageCache: true,
  locksMemory: true,
  enforcesProtection: true,
  reportsResidency: true,
  detachesOnUnmap: true,
  flushesOffThread: true,
  needsDescriptor: false,
});

let addon: Addon | undefined;
let backend: Backend<number> | undefined;

/** The nearest directory at or above this module whose package.json is portable-mmap's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "portable-mmap") return dir;
    } catch {
      // no package.json here, or not readable: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package root of portable-mmap not found");
    dir = parent;
  }
}

function loadAddon(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require("node-gyp-build") as (dir: string) => unknown;
  addon = nodeGypBuild(packageRoot()) as Addon;
  return addon;
}

function create(a: Addon): Backend<number> {
  const { scratch, syscalls, fileSize } = a;
  const error = a.windows
    ? (code: number, sys: number) => win32Error(code, syscalls[sys] ?? "unknown")
    : (code: number, sys: number) => systemError(code, syscalls[sys] ?? "unknown");
  const check = (code: number): void => {
    if (code !== 0) throw error(code, scratch[1] as number);
  };

  return {
    name: "native",
    pageSize: a.pageSize,
    allocationGranularity: a.allocationGranularity,
    capabilities,
    fileSize: fileSize
      ? (fd) => {
          const size = fileSize(fd);
          if (size === -2) throw error(scratch[0] as number, scratch[1] as number);
          return size;
        }
      : undefined,
    map(req: MapRequest): Mapping<number> {
      const flags =
        (req.shared ? SHARED : 0) | (req.writable ? WRITABLE : 0) | (req.exec ? EXEC : 0) | (req.anon ? ANON : 0);
      const buffer = a.map(req.fd, req.offset, req.length, flags);
      if (typeof buffer === "number") throw error(buffer, scratch[1] as number);
      return { buffer, handle: scratch[0] as number };
    },
    flush: (handle, offset, length) => check(a.flush(handle, offset, length)),
    flushAsync(handle, offset, length) {
      const result = a.flushAsync(handle, offset, length);
      if (typeof result === "number") return Promise.reject(error(result, scratch[1] as number));
      return result.then(undefined, (reason: [number, number]) => {
        throw error(reason[0], reason[1]);
      });
    },
    lock: (handle, offset, length) => check(a.lock(handle, offset, length)),
    unlock: (handle, offset, length) => check(a.unlock(handle, offset, length)),
    advise: (handle, offset, length, advice) => check(a.advise(handle, offset, length, adviceIds[advice])),
    protect: (handle, offset, length, writable, exec) =>
      check(a.protect(handle, offset, length, (writable ? WRITABLE : 0) | (exec ? EXEC : 0))),
    residency(handle, offset, length) {
      const out = new Uint8Array(Math.ceil(length / a.pageSize));
      check(a.residency(handle, offset, length, out));
      return out;
    },
    unmap: (handle, buffer) => check(a.unmap(handle, buffer)),
  };
}

/**
 * Loads the addon on first call and returns the "native" backend. Throws a
 * plain `Error` saying why when the addon is missing or the runtime refuses
 * external ArrayBuffers (Electron's memory cage), so selection can move on.
 */
export const load: BackendLoader = () => {
  if (backend) return backend;
  let a: Addon;
  try {
    a = loadAddon();
  } catch (cause) {
    throw new Error(`native addon not loadable: ${(cause as Error)?.message ?? cause}`);
  }
  if (a.externalBuffers !== 0) {
    const why =
      a.externalBuffers === NAPI_NO_EXTERNAL_BUFFERS_ALLOWED
        ? "napi_no_external_buffers_allowed"
        : `napi_status ${a.externalBuffers}`;
    throw new Error(`native addon unusable: the runtime refuses external ArrayBuffers (${why})`);
  }
  backend = create(a);
  return backend;
};

/**
 * The addon's `napi_detach_arraybuffer` wrapper, for runtimes without
 * `ArrayBuffer.prototype.transfer` (Node 20); `undefined` when the addon
 * cannot be loaded. It throws a `TypeError` if the buffer cannot be detached.
 */
export function loadDetach(): ((buffer: ArrayBuffer) => void) | undefined {
  try {
    return loadAddon().detach;
  } catch {
    return undefined;
  }
}
