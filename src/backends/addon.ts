/**
 * Loading the Node-API addon (`native/`), for the native backend and for the
 * one helper the koffi backend borrows from it (detaching an ArrayBuffer on
 * runtimes without `ArrayBuffer.prototype.transfer`). Loaded with
 * `node-gyp-build` from the package root: `build/Release` after a local
 * build, else `prebuilds/<platform>-<arch>`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundledIntoEsm, moduleUrl, packageRequire } from "./module-location.js";

/**
 * The `interfaceVersion` of the addon this build of the library talks to
 * (`native/addon.cc` sets it): an addon built from other sources may take
 * the same calls with other meanings, so it is refused.
 */
export const ADDON_INTERFACE = 2;

/** The raw addon, as `native/addon.cc` exports it. Calls return 0 or an error code. */
export interface Addon {
  /** The version of the calls and their arguments; see {@link ADDON_INTERFACE}. */
  readonly interfaceVersion?: number;
  /** [id of the last `map` (or error code of `fileSize`), index into `syscalls` of the last failing call]. */
  readonly scratch: Float64Array;
  readonly syscalls: readonly string[];
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** 0 (napi_ok) if the runtime accepts external ArrayBuffers, else the napi_status. */
  readonly externalBuffers: number;
  /**
   * The runtime runs an external buffer's finalizer after the detach that freed it, not inside it (Node).
   * Node is not asked by detaching a probe buffer (that would slow the process's typed-array loops); Bun and Deno are.
   */
  readonly finalizersDeferred?: boolean;
  /** Error codes are Win32 (GetLastError) values rather than errno values. */
  readonly windows: boolean;
  /** The SIGBUS handler is installed (Linux, unless PORTABLE_MMAP_SIGBUS=0): faults in mapped files become ERR_MMAP_FAULT. */
  readonly handlesFaults: boolean;
  /** unmap() replaces the pages in place (POSIX; Windows with placeholders), else the view stays until released. */
  readonly retiresInPlace: boolean;
  /** [faults handled, live mappings] of the whole process; missing where external buffers are refused. */
  readonly counters?: Int32Array;
  /** Missing where the addon cannot stat descriptors (statx refused by a seccomp filter); the API then uses fstatSync. */
  fileSize?(fd: number): number;
  reserve(fd: number, offset: number, length: number): number;
  map(fd: number, offset: number, length: number, flags: number): ArrayBuffer | number;
  unmap(id: number, buffer: ArrayBuffer, moved: boolean): number;
  /** An anonymous map's pages moved into a new map of `length` bytes (Linux mremap); the id goes to `scratch[0]`. Absent from addons built before it. */
  move?(id: number, length: number): ArrayBuffer | number;
  /** With the id of the buffer's map: unmap() runs while flushes are pending (the region waits to be retired). */
  detach(buffer: ArrayBuffer, id?: number): void;
  /** The environment is about to be torn down (a worker's exit event): finalizers may run early from now on. */
  stopping(): void;
  /** Gives back the ranges of unmapped maps whose buffers were collected; returns how many still wait. */
  sweep(): number;
  fault(id: number): number;
  flush(id: number, offset: number, length: number): number;
  flushAsync(id: number, offset: number, length: number): Promise<void> | number;
  lock(id: number, offset: number, length: number): number;
  unlock(id: number, offset: number, length: number): number;
  advise(id: number, offset: number, length: number, advice: number): number;
  protect(id: number, offset: number, length: number, flags: number): number;
  residency(id: number, offset: number, length: number, out: Uint8Array): number;
  /** POSIX: `shm_open("/" + name)`; `how` bits 1 create, 2 exclusive, 4 read-write. 0 or an error code; the descriptor in `scratch[0]`. Missing in addons built before it. */
  shmOpen?(name: string, how: number): number;
  /** POSIX: `shm_unlink("/" + name)`: 0 or an error code. */
  shmUnlink?(name: string): number;
  /** POSIX: closes a descriptor `shmOpen` returned. */
  closeFd?(fd: number): void;
  /** Windows: the section `Local\<name>` (`how` as for `shmOpen`): [handle, size, created], or an error code. */
  openSection?(name: string, how: number, size: number): [number, number, boolean] | number;
  /** Windows: a view of `[0, length)` of a section, as `map` makes one of a file. */
  mapSection?(section: number, length: number, flags: number): ArrayBuffer | number;
  /** Windows: closes a section's handle. */
  closeSection?(section: number): void;
}

let addon: Addon | undefined;
let failure: Error | undefined;
let resolved: string | undefined;

/** The nearest directory at or above this module whose package.json is portable-mmap's. Throws if there is none. */
export function packageRoot(): string {
  const url = moduleUrl();
  if (url === undefined) throw new Error(`package root of portable-mmap not found: ${bundledIntoEsm}`);
  let dir = dirname(fileURLToPath(url));
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

/** Returns `loaded` if it speaks this build's interface; else throws why not and what to do. */
export function checkInterface(loaded: Addon, file: string): Addon {
  if (loaded.interfaceVersion === ADDON_INTERFACE) return loaded;
  throw new Error(
    `${file} was built from other sources than this copy of portable-mmap (interface ${loaded.interfaceVersion ?? 1}, this one needs ${ADDON_INTERFACE}): rebuild it with \`npm run build:native\`, or reinstall the package`,
  );
}

/** The addon, loaded on first call (the outcome is cached). Throws why it cannot be loaded. */
export function loadAddon(): Addon {
  if (addon) return addon;
  if (failure) throw failure;
  try {
    const require = packageRequire();
    const nodeGypBuild = require("node-gyp-build") as ((dir: string) => unknown) & { resolve(dir: string): string };
    const root = packageRoot();
    // The file node-gyp-build picks (build/Release, else prebuilds/<platform>-<arch>), recorded for diagnostics.
    resolved = nodeGypBuild.resolve(root);
    addon = checkInterface(nodeGypBuild(root) as Addon, resolved);
    return addon;
  } catch (cause) {
    failure = new Error(`native addon not loadable: ${(cause as Error)?.message ?? cause}`);
    throw failure;
  }
}

/**
 * The absolute path of the addon file that `loadAddon()` chose (a file under
 * `build/Release` or `prebuilds/<platform>-<arch>` of the package root),
 * whether or not it then loaded; `undefined` before the first load attempt and
 * when no addon file for this platform was found.
 */
export function addonPath(): string | undefined {
  return resolved;
}

/**
 * The addon's `napi_detach_arraybuffer` wrapper, for runtimes without
 * `ArrayBuffer.prototype.transfer` (Node 20); `undefined` when the addon
 * cannot be loaded. It throws a `TypeError` if the buffer cannot be detached.
 */
export function addonDetach(): ((buffer: ArrayBuffer) => void) | undefined {
  try {
    return loadAddon().detach;
  } catch {
    return undefined;
  }
}
