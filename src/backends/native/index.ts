/**
 * The native backend: a small Node-API addon (`native/`) that makes the
 * system calls and hands JavaScript a zero-copy external `ArrayBuffer` over
 * the mapped memory.
 *
 * Unmapped maps keep their address range, as zero pages, until their buffer
 * object is collected (see `native/region.h`); the addon gives the ranges
 * back when it sees that a collection ran, at the next `map`, or here, after
 * a collection, when the program has stopped mapping.
 *
 * @module
 */
import { busyError, systemError, win32Error } from "../../api/errors.js";
import { type Addon, loadAddon } from "../addon.js";
import { systemAdvice } from "../advice.js";
import type {
  Advice,
  Backend,
  BackendLoader,
  Capabilities,
  Mapping,
  MapRequest,
  Section,
  SharedOpen,
} from "../contract.js";
import { onWorkerExit } from "../worker-exit.js";

// Bits of the `flags` argument of map/protect (native/sys.h `Flags`).
const SHARED = 1;
const WRITABLE = 2;
const EXEC = 4;
const ANON = 8;
const POPULATE = 16;

// Bits of the `how` argument of shmOpen and openSection (native/addon.cc `SharedHow`).
const CREATE = 1;
const EXCLUSIVE = 2;
const READ_WRITE = 4;

const howBits = (how: SharedOpen): number =>
  (how.create ? CREATE : 0) | (how.exclusive ? EXCLUSIVE : 0) | (how.writable ? READ_WRITE : 0);

const mapFlags = (req: MapRequest): number =>
  (req.shared ? SHARED : 0) |
  (req.writable ? WRITABLE : 0) |
  (req.exec ? EXEC : 0) |
  (req.anon ? ANON : 0) |
  (req.populate ? POPULATE : 0);

const adviceIds: Record<Advice, number> = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4 };

// napi_status 22 (js_native_api_types.h).
const NAPI_NO_EXTERNAL_BUFFERS_ALLOWED = 22;

let backend: Backend<number> | undefined;

/**
 * Sweeps once after each collection while unmapped maps wait for theirs: an
 * object registered here is collected in the same kind of collection that
 * collects their buffers.
 */
function idleSweeper(a: Addon): () => void {
  let armed = false;
  const arm = (): void => {
    armed = true;
    sentinels.register({}, undefined);
  };
  const sentinels = new FinalizationRegistry<undefined>(() => {
    armed = false;
    if (a.sweep() > 0) arm();
  });
  return () => {
    if (!armed) arm();
  };
}

/** @internal The backend over a loaded addon (exported for unit tests, which give it a scripted one). */
export function create(a: Addon): Backend<number> {
  const { scratch, syscalls, fileSize } = a;
  const error = a.windows
    ? (code: number, sys: number) => win32Error(code, syscalls[sys] ?? "unknown")
    : (code: number, sys: number) => systemError(code, syscalls[sys] ?? "unknown");
  const check = (code: number): void => {
    if (code !== 0) throw error(code, scratch[1] as number);
  };
  const sweepLater = idleSweeper(a);
  const capabilities: Capabilities = Object.freeze({
    sharesPageCache: true,
    locksMemory: true,
    enforcesProtection: true,
    reportsResidency: true,
    detachesOnUnmap: true,
    releasesFileOnUnmap: a.retiresInPlace,
    survivesFileFaults: a.handlesFaults,
    flushesOffThread: true,
    needsDescriptor: false,
    sharesMemoryByName: typeof a.shmOpen === "function" || typeof a.mapSection === "function",
  });
  const napiCall = syscalls.indexOf("napi");

  return {
    name: "native",
    pageSize: a.pageSize,
    allocationGranularity: a.allocationGranularity,
    capabilities,
    advice: systemAdvice(),
    counters: a.counters,
    fileSize: fileSize
      ? (fd) => {
          const size = fileSize(fd);
          if (size === -2) throw error(scratch[0] as number, scratch[1] as number);
          return size;
        }
      : undefined,
    reserve: (fd, offset, length) => check(a.reserve(fd, offset, length)),
    map(req: MapRequest): Mapping<number> {
      const buffer = a.map(req.fd, req.offset, req.length, mapFlags(req));
      if (typeof buffer === "number") throw error(buffer, scratch[1] as number);
      return { buffer, handle: scratch[0] as number };
    },
    move: a.move
      ? (handle, length) => {
          const buffer = a.move?.(handle, length);
          // Any refusal (not Linux, an old kernel, a split range, no memory): the API copies instead.
          return typeof buffer === "object" ? { buffer, handle: scratch[0] as number } : undefined;
        }
      : undefined,
    shmOpen: a.shmOpen
      ? (how: SharedOpen): number => {
          check((a.shmOpen as NonNullable<Addon["shmOpen"]>)(how.name, howBits(how)));
          return scratch[0] as number;
        }
      : undefined,
    shmUnlink: a.shmUnlink ? (name) => check((a.shmUnlink as NonNullable<Addon["shmUnlink"]>)(name)) : undefined,
    closeDescriptor: a.closeFd,
    openSection: a.openSection
      ? (how: SharedOpen, size: number): Section => {
          const out = (a.openSection as NonNullable<Addon["openSection"]>)(how.name, howBits(how), size);
          if (typeof out === "number") throw error(out, scratch[1] as number);
          return { handle: out[0], size: out[1], created: out[2] };
        }
      : undefined,
    mapSection: a.mapSection
      ? (section: unknown, req: MapRequest): Mapping<number> => {
          const buffer = (a.mapSection as NonNullable<Addon["mapSection"]>)(
            section as number,
            req.length,
            mapFlags(req),
          );
          if (typeof buffer === "number") throw error(buffer, scratch[1] as number);
          return { buffer, handle: scratch[0] as number };
        }
      : undefined,
    closeSection: a.closeSection
      ? (section) => (a.closeSection as NonNullable<Addon["closeSection"]>)(section as number)
      : undefined,
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
    faultAt: (handle) => a.fault(handle),
    detach(handle, buffer) {
      try {
        a.detach(buffer, handle);
      } catch {
        throw busyError("napi_detach_arraybuffer");
      }
    },
    unmap(handle, buffer, moved) {
      const code = a.unmap(handle, buffer, moved);
      if (code !== 0 && (scratch[1] as number) === napiCall) throw busyError("napi_detach_arraybuffer");
      check(code);
      sweepLater();
      return false;
    },
  };
}

/**
 * Loads the addon on first call and returns the "native" backend. Throws a
 * plain `Error` saying why when the addon is missing or the runtime refuses
 * external ArrayBuffers (Electron's memory cage), so selection can move on.
 */
export const load: BackendLoader = () => {
  if (backend) return backend;
  const a = loadAddon();
  if (a.externalBuffers !== 0) {
    const why =
      a.externalBuffers === NAPI_NO_EXTERNAL_BUFFERS_ALLOWED
        ? "napi_no_external_buffers_allowed"
        : `napi_status ${a.externalBuffers}`;
    throw new Error(`native addon unusable: the runtime refuses external ArrayBuffers (${why})`);
  }
  backend = create(a);
  // A worker that ends tears its environment down, and Node then runs the
  // finalizers of buffers whose memory may have been moved and posted to
  // another thread: the addon keeps those ranges if it knows (region.h).
  onWorkerExit(() => a.stopping());
  return backend;
};
