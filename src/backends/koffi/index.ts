/**
 * The koffi backend: the operating system's mapping calls made directly
 * through the koffi FFI, for hosts without the prebuilt addon. The portable
 * part lives here; `posix.ts` and `windows.ts` bind the system calls, with
 * one table of constants per OS.
 *
 * koffi's views (`koffi.view`) are external ArrayBuffers without a
 * finalizer: nothing says when their memory is no longer used. So:
 * - `unmap()` replaces the file's pages with anonymous zero pages at the same
 *   address (MAP_FIXED) and detaches the buffer (`transfer(0)`, or the native
 *   addon's helper); the range is given back once the buffer object is
 *   collected (the API's FinalizationRegistry calls `release`): work on the
 *   thread pool that still holds a raw pointer holds that object too.
 * - If the memory had been moved to another buffer (`transfer()`, a BYOB
 *   read), that buffer may use it for as long as it lives, and nothing
 *   reports its end: after `unmap()` the zero pages stay reserved for good;
 *   a map collected without `unmap()` stays mapped for good, so the moved
 *   buffer keeps working (address space, not memory).
 * - Where the buffer cannot be detached (Node 20 without the addon) views
 *   keep their length and read zeros (`detachesOnUnmap: false`).
 * - Windows cannot replace a view in place without placeholders: the view
 *   stays mapped until it is released, so a write through a moved view can
 *   still reach the file until then. Without a way to detach, the backend
 *   does not load there, and selection moves on.
 * - A worker thread's FinalizationRegistry never runs once the worker has
 *   ended, so each copy of this module (every worker loads its own) keeps
 *   its mappings in a table and gives them back when its worker ends (see
 *   `releaseAtWorkerExit`). Nothing runs on `worker.terminate()`: those stay
 *   mapped until the process ends (docs/backends.md).
 *
 * @module
 */
import { getEnvironmentData, isMainThread, setEnvironmentData } from "node:worker_threads";
import { busyError, systemError } from "../../api/errors.js";
import { addonDetach } from "../addon.js";
import { systemAdvice } from "../advice.js";
import type { Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";
import { packageRequire } from "../module-location.js";
import { onWorkerExit } from "../worker-exit.js";
import { posixSystem } from "./posix.js";
import type { Detach, Handle, Koffi, System } from "./types.js";
import { windowsSystem } from "./windows.js";

/** Ways to detach an external buffer, best first: `transfer(0)`, then the native addon's helper. */
function* detachCandidates(): Generator<Detach> {
  const transfer = (ArrayBuffer.prototype as { transfer?: (length?: number) => ArrayBuffer }).transfer;
  // transfer(0), not transfer(): without a length it would move the memory into a new buffer.
  if (typeof transfer === "function") yield (buffer) => void transfer.call(buffer, 0);
  const native = addonDetach();
  if (native) yield native;
}

/**
 * Checks that this runtime accepts koffi's external buffers (throws if not)
 * and returns the first way of detaching that really detaches one, if any.
 */
function probe(koffi: Koffi, sys: System): Detach | undefined {
  const page = {
    fd: -1,
    offset: 0,
    length: sys.pageSize,
    shared: false,
    writable: true,
    exec: false,
    anon: true,
    populate: false,
  };
  const handle = sys.map(page);
  try {
    koffi.view(handle.addr, handle.length); // throws where external buffers are refused (Electron)
  } finally {
    sys.release(handle);
  }
  for (const candidate of detachCandidates()) {
    const h = sys.map(page);
    try {
      const buffer = koffi.view(h.addr, h.length);
      candidate(buffer);
      if (buffer.byteLength === 0) return candidate;
    } catch {
      // this one cannot detach koffi's buffers: try the next
    } finally {
      sys.release(h);
    }
  }
  // Without a detach, unmap needs to replace the pages in place, which Windows cannot do.
  if (!sys.zero)
    throw new Error(
      "cannot detach koffi's buffers here (needs ArrayBuffer.prototype.transfer, Node >= 21, or the native addon's helper), and Windows cannot replace a view in place",
    );
  return undefined;
}

/** A mapping this copy of the module still holds: its buffer (weakly), and whether the API unmapped it. */
interface Held {
  readonly buffer: WeakRef<ArrayBuffer>;
  /** `detach` or `unmap` ran: a detached buffer was detached here, its memory did not move. */
  unmapping: boolean;
}

/**
 * Calls `releaseAll` when this worker thread ends by itself or by
 * `process.exit()` (the `exit` event); `drained` is true when the event loop
 * had run empty just before (`beforeExit`, which Node and Bun emit on a
 * natural end and Deno's workers never do). Nothing runs on
 * `worker.terminate()`. The main thread registers nothing: the process ends.
 */
function releaseAtWorkerExit(releaseAll: (drained: boolean) => void): void {
  if (isMainThread || typeof process.on !== "function") return;
  let drained = false;
  process.on("beforeExit", () => {
    drained = true;
    // A beforeExit listener may start more work: then the loop runs again, and
    // this timer (which keeps nothing running) says so before it empties again.
    setTimeout(() => {
      drained = false;
    }, 0).unref?.();
  });
  onWorkerExit(() => releaseAll(drained));
}

/**
 * Whether koffi's asynchronous calls (`fn.async`, run on the runtime's thread
 * pool) are safe on this thread. Not on Bun's worker threads: a worker that
 * ends by `process.exit()` or `worker.terminate()` while such a call is still
 * queued (not yet started on the pool: a busy pool, a loaded machine) crashes
 * the whole process with SIGSEGV at address 0x0 (seen on Bun 1.4.5 with koffi
 * 3.3.4; koffi's call trampoline calls a null function on the worker's thread
 * as Bun tears it down). Nothing in JavaScript can wait for the pool to start
 * the call first, so there `flushAsync` flushes on the JavaScript thread.
 */
function asyncCallsSafe(): boolean {
  return isMainThread || typeof (process.versions as { bun?: string }).bun !== "string";
}

const COUNTERS_KEY = "portable-mmap:koffi-counters";

/**
 * The koffi backend's counters, shared by every thread of the process: each
 * worker loads its own copy of this module, and the limit on live maps
 * (src/api/limits.ts) is the process's. The first copy to load puts a
 * SharedArrayBuffer in the environment data that workers started after it
 * inherit (a worker started before any thread loaded the library counts on
 * its own). Where the runtime lacks either, the counts are the thread's.
 */
function sharedCounters(): Int32Array {
  try {
    const found = getEnvironmentData(COUNTERS_KEY);
    if (found instanceof SharedArrayBuffer && found.byteLength === 12) return new Int32Array(found);
    const buffer = new SharedArrayBuffer(12);
    setEnvironmentData(COUNTERS_KEY, buffer);
    return new Int32Array(buffer);
  } catch {
    return new Int32Array(3);
  }
}

/**
 * Builds the backend over one system layer; `detach` undefined means the
 * runtime cannot detach koffi's buffers. `atExit` is given the function that
 * gives back what is held when the worker thread ends (by default it runs at
 * a worker's exit; the unit tests call it themselves). `offThread` false:
 * `flushAsync` flushes on the JavaScript thread, without koffi's asynchronous
 * calls (see `asyncCallsSafe`). Exported for the unit tests; `load` is the way in.
 */
export function createBackend(
  koffi: Koffi,
  sys: System,
  detach: Detach | undefined,
  atExit: (releaseAll: (drained: boolean) => void) => void = releaseAtWorkerExit,
  offThread: boolean = asyncCallsSafe(),
): Backend<Handle> {
  const capabilities: Capabilities = Object.freeze({
    sharesPageCache: true,
    locksMemory: true,
    enforcesProtection: true,
    reportsResidency: sys.reportsResidency,
    detachesOnUnmap: detach !== undefined,
    releasesFileOnUnmap: sys.zero !== undefined,
    survivesFileFaults: false,
    flushesOffThread: offThread,
    needsDescriptor: false,
    sharesMemoryByName: sys.shmOpen !== undefined || sys.mapSection !== undefined,
  });
  // [faults handled (never: no signal handler can run FFI code), live mappings, retired mappings],
  // shared by every thread's copy of this module: the limit on live maps is the process's.
  const counters = sharedCounters();
  const add = (i: number, n: number): void => {
    Atomics.add(counters, i, n);
  };
  const retire = (h: Handle): void => {
    if (h.live) add(1, -1);
    h.live = false;
  };
  // Every mapping not yet released or abandoned, for the end of a worker thread.
  const held = new Map<Handle, Held>();
  // Where the runtime can detach koffi's buffers it can still refuse one that
  // native code is working on (Bun pins those). Bun's transfer(0) of a pinned
  // buffer may also return an empty buffer and leave this one attached, so
  // the length is what tells whether the detach happened.
  const detached = detach
    ? (buffer: ArrayBuffer): boolean => {
        try {
          detach(buffer);
        } catch {
          return false;
        }
        return buffer.byteLength === 0;
      }
    : undefined;
  // Where it refuses, nothing changes: EBUSY.
  const detachNow = (buffer: ArrayBuffer): void => {
    if (!detached || buffer.byteLength === 0) return;
    if (!detached(buffer)) throw busyError("ArrayBuffer.prototype.transfer");
  };

  /** A buffer over a new mapping, counted and held; where koffi cannot make one, `undo` and ENOMEM. */
  const track = (handle: Handle, undo = () => sys.release(handle)): Mapping<Handle> => {
    let buffer: ArrayBuffer;
    try {
      buffer = koffi.view(handle.addr, handle.length);
    } catch {
      undo();
      throw systemError("ENOMEM", "mmap");
    }
    add(1, 1);
    held.set(handle, { buffer: new WeakRef(buffer), unmapping: false });
    return { buffer, handle };
  };

  const backend: Backend<Handle> = {
    name: "koffi",
    pageSize: sys.pageSize,
    allocationGranularity: sys.allocationGranularity,
    capabilities,
    advice: systemAdvice(),
    counters,
    fileSize: sys.fileSize,
    reserve: (fd, offset, length) => sys.reserve(fd, offset, length),
    map: (req: MapRequest): Mapping<Handle> => track(sys.map(req)),
    shmOpen: sys.shmOpen,
    shmUnlink: sys.shmUnlink,
    closeDescriptor: sys.closeDescriptor,
    openSection: sys.openSection,
    closeSection: sys.closeSection,
    mapSection: sys.mapSection
      ? (section, req) => track((sys.mapSection as NonNullable<System["mapSection"]>)(section, req))
      : undefined,
    move: sys.move
      ? (h, length) => {
          const moved = sys.move?.(h, length);
          if (!moved) return undefined;
          try {
            return track(moved, () => sys.moveBack?.(h, moved.addr, length));
          } catch {
            return undefined; // the pages went back: the API copies instead
          }
        }
      : undefined,
    flush(h, offset, length) {
      if (h.shared) sys.flush(h, offset, length);
    },
    flushAsync(h, offset, length) {
      if (!h.shared) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (error: Error | undefined): void => (error ? reject(error) : resolve());
        const flushHere = (): void => {
          let error: Error | undefined;
          try {
            sys.flush(h, offset, length);
          } catch (cause) {
            error = cause as Error;
          }
          done(error);
        };
        // koffi's asynchronous calls are unsafe on this thread (asyncCallsSafe).
        if (!offThread) return flushHere();
        try {
          sys.flushAsync(h, offset, length, done);
        } catch {
          // koffi's queue of asynchronous calls is full: flush here instead.
          flushHere();
        }
      });
    },
    lock: (h, offset, length) => sys.lock(h, offset, length),
    unlock: (h, offset, length) => sys.unlock(h, offset, length),
    advise: (h, offset, length, advice) => sys.advise(h, offset, length, advice),
    protect: (h, offset, length, writable, exec) => sys.protect(h, offset, length, writable, exec),
    residency: (h, offset, length) => sys.residency(h, offset, length),
    detach(h, buffer) {
      detachNow(buffer);
      const entry = held.get(h);
      if (entry) entry.unmapping = true;
    },
    unmap(h, buffer, moved) {
      if (h.released) return false; // given back when its worker ended (releaseAll)
      if (!moved) detachNow(buffer);
      const entry = held.get(h);
      if (entry) entry.unmapping = true;
      if (moved) held.delete(h);
      retire(h);
      try {
        sys.zero?.(h);
      } catch {
        // Out of memory: the file stays mapped until the range is released, which is still safe.
      }
      // A moved buffer may use the range for as long as it lives: keep it for good.
      if (moved) return false;
      h.retired = true;
      add(2, 1);
      return true;
    },
    // The moved buffer keeps reading and writing the file for as long as it lives.
    abandon(h) {
      held.delete(h);
      retire(h);
    },
    release(h) {
      held.delete(h);
      if (h.released) return;
      h.released = true;
      retire(h);
      if (h.retired) add(2, -1);
      h.retired = false;
      sys.release(h);
    },
  };

  /**
   * The worker ends: no FinalizationRegistry callback will run any more. Each
   * held mapping whose memory did not move to another buffer (those keep
   * their range for good, as after `abandon`) is detached, so that JavaScript
   * still running (later `exit` listeners) reads length 0, then given back.
   * Work on the thread pool (crypto.randomFill, zlib) may still use the
   * memory after `process.exit()`, and the worker waits for it only after
   * this: so the range is given back only when the loop had run empty (a
   * natural end); otherwise it becomes zero pages, as after `unmap()`, and
   * stays reserved (address space, no memory, no file) until the process ends.
   */
  atExit((drained) => {
    for (const [h, entry] of held) {
      const buffer = entry.buffer.deref();
      if (buffer !== undefined && buffer.byteLength === 0 && !entry.unmapping) {
        held.delete(h);
        retire(h);
        continue;
      }
      let reachable = buffer !== undefined && buffer.byteLength > 0;
      // Pinned by native code (Bun): the range is kept, replaced by zeros below.
      if (reachable && detached) reachable = !detached(buffer as ArrayBuffer);
      if (drained && !reachable) {
        backend.release?.(h);
        continue;
      }
      held.delete(h);
      retire(h);
      if (h.retired) continue; // already zero pages
      try {
        sys.zero?.(h);
      } catch {
        // Out of memory: the file stays mapped until the process ends.
      }
    }
  });
  return backend;
}

let backend: Backend<Handle> | undefined;

/**
 * Loads koffi on first call and returns the "koffi" backend. Throws a plain
 * `Error` saying why when koffi, the system library or external buffers are
 * not available here, so that selection can move on.
 */
export const load: BackendLoader = () => {
  if (backend) return backend;
  let koffi: Koffi;
  try {
    koffi = packageRequire()("koffi") as Koffi;
  } catch (error) {
    throw new Error(`koffi could not be loaded: ${(error as Error)?.message ?? error}`);
  }
  try {
    const sys = process.platform === "win32" ? windowsSystem(koffi) : posixSystem(koffi);
    backend = createBackend(koffi, sys, probe(koffi, sys));
  } catch (error) {
    throw new Error(`koffi backend unusable: ${(error as Error)?.message ?? error}`);
  }
  return backend;
};
