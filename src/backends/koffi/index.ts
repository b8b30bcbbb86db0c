/**
 * The koffi backend: the operating system's mapping calls made directly
 * through the koffi FFI, for hosts without the prebuilt addon. The portable
 * part lives here; `posix.ts` and `windows.ts` bind the system calls, with
 * one table of constants per OS.
 *
 * koffi's views (`koffi.view`) are external ArrayBuffers without a
 * finalizer, so this backend releases mappings that were dropped without
 * `unmap()` through the API's FinalizationRegistry (`release`). `unmap()`
 * detaches the buffer with `ArrayBuffer.prototype.transfer(0)` or the native
 * addon's detach helper. Where neither exists (Node 20 without the addon) it
 * cannot detach: on POSIX it replaces the file's pages with anonymous zero
 * pages at the same address (MAP_FIXED), so old views read zeros and never
 * fault, and gives the address range back once the buffer is collected
 * (`capabilities.detachesOnUnmap` is then false, decided at load time).
 * Windows cannot replace a view in place, so there the backend does not load
 * without a way to detach, and selection moves on.
 *
 * @module
 */
import { createRequire } from "node:module";
import { systemError } from "../../api/errors.js";
import type { Advice, Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";
import { loadDetach } from "../native/index.js";
import { posixSystem } from "./posix.js";
import { windowsSystem } from "./windows.js";

/** The koffi module, as `require("koffi")` returns it. */
export type Koffi = typeof import("koffi");

/** Nothing to do when the last pending flush completes. */
export const NONE = 0;
/** Replace the pages with zero pages (unmap without detach) when the last pending flush completes. */
export const ZERO = 1;
/** Release the mapping when the last pending flush completes. */
export const RELEASE = 2;

/** The backend's state of one mapping. It never references the mapping's buffer. */
export interface Handle {
  /** Address of the first mapped byte. */
  readonly addr: bigint;
  /** Mapped bytes. */
  readonly length: number;
  /** Writes reach a file, so flushing has work to do. */
  readonly shared: boolean;
  /** A private (copy-on-write) file mapping. */
  readonly copy: boolean;
  /** Windows: a duplicate of the file's handle, for FlushFileBuffers; else null. */
  readonly file: bigint | null;
  /** `flushAsync` calls still running on a worker thread. */
  pending: number;
  /** What to do once `pending` drops to 0: NONE, ZERO or RELEASE. */
  after: number;
  /** The address range has been given back to the system. */
  released: boolean;
}

/** The system calls of one OS family, bound once by `posix.ts` or `windows.ts`. Failures throw the shared errors. */
export interface System {
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** `residency` reports what is really in RAM. */
  readonly reportsResidency: boolean;
  /** The contract's optional fast size check; without it the API uses `fstatSync`. */
  readonly fileSize?: (fd: number) => number;
  map(request: MapRequest): Handle;
  /** Gives the address range back (and closes what the mapping holds). Never throws. */
  release(handle: Handle): void;
  /**
   * Replaces the mapping with anonymous zero pages at the same address, in
   * one atomic step, so the range stays reserved for old views. Absent where
   * the OS cannot (Windows); then unmap without a detach keeps the view
   * mapped until the buffer is collected (`load` refuses that case).
   */
  zero?(handle: Handle): void;
  flush(handle: Handle, offset: number, length: number): void;
  /** Flushes on a worker thread; `done` runs on the JavaScript thread. */
  flushAsync(handle: Handle, offset: number, length: number, done: (error: Error | undefined) => void): void;
  lock(handle: Handle, offset: number, length: number): void;
  unlock(handle: Handle, offset: number, length: number): void;
  advise(handle: Handle, offset: number, length: number, advice: Advice): void;
  protect(handle: Handle, offset: number, length: number, writable: boolean, exec: boolean): void;
  residency(handle: Handle, offset: number, length: number): Uint8Array;
}

/** Detaches an ArrayBuffer (every view then reads length 0), or throws. */
export type Detach = (buffer: ArrayBuffer) => void;

/** Ways to detach an external buffer, best first: `transfer(0)`, then the native addon's helper. */
function* detachCandidates(): Generator<Detach> {
  const transfer = (ArrayBuffer.prototype as { transfer?: (length?: number) => ArrayBuffer }).transfer;
  // transfer(0), not transfer(): without a length it would move the memory into a new buffer.
  if (typeof transfer === "function") yield (buffer) => void transfer.call(buffer, 0);
  const native = loadDetach();
  if (native) yield native;
}

/**
 * Checks that this runtime accepts koffi's external buffers (throws if not)
 * and returns the first way of detaching that really detaches one, if any.
 */
function probe(koffi: Koffi, sys: System): Detach | undefined {
  const page = { fd: -1, offset: 0, length: sys.pageSize, shared: false, writable: true, exec: false, anon: true };
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

/**
 * Builds the backend over one system layer; `detach` undefined means the
 * runtime cannot detach koffi's buffers. Exported for the unit tests; `load`
 * is the way in.
 */
export function createBackend(koffi: Koffi, sys: System, detach: Detach | undefined): Backend<Handle> {
  const capabilities: Capabilities = Object.freeze({
    sharesPageCache: true,
    locksMemory: true,
    enforcesProtection: true,
    reportsResidency: sys.reportsResidency,
    detachesOnUnmap: detach !== undefined,
    flushesOffThread: true,
    needsDescriptor: false,
  });

  const apply = (h: Handle, what: number): void => {
    if (h.released) return;
    if (what === RELEASE) {
      h.released = true;
      sys.release(h);
    } else if (what === ZERO) {
      try {
        sys.zero?.(h);
      } catch {
        // The file stays mapped; the views stay valid. It is released after collection.
      }
    }
  };
  // Whatever gives the memory back waits for flushes running on worker threads.
  const request = (h: Handle, what: number): void => {
    if (h.pending > 0) h.after = Math.max(h.after, what);
    else apply(h, what);
  };
  const settle = (h: Handle): void => {
    h.pending--;
    if (h.pending === 0 && h.after !== NONE) {
      const what = h.after;
      h.after = NONE;
      apply(h, what);
    }
  };
  // Mappings unmapped without a detach: released once no view can reach them.
  const undetached = new FinalizationRegistry<Handle>((h) => request(h, RELEASE));

  return {
    name: "koffi",
    pageSize: sys.pageSize,
    allocationGranularity: sys.allocationGranularity,
    capabilities,
    fileSize: sys.fileSize,
    map(req: MapRequest): Mapping<Handle> {
      const handle = sys.map(req);
      let buffer: ArrayBuffer;
      try {
        buffer = koffi.view(handle.addr, req.length);
      } catch {
        sys.release(handle);
        throw systemError("ENOMEM", "mmap");
      }
      return { buffer, handle };
    },
    flush(h, offset, length) {
      if (h.shared) sys.flush(h, offset, length);
    },
    flushAsync(h, offset, length) {
      if (!h.shared) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        h.pending++;
        const done = (error: Error | undefined): void => {
          settle(h);
          if (error) reject(error);
          else resolve();
        };
        try {
          sys.flushAsync(h, offset, length, done);
        } catch {
          // koffi's queue of asynchronous calls is full: flush here instead.
          let error: Error | undefined;
          try {
            sys.flush(h, offset, length);
          } catch (cause) {
            error = cause as Error;
          }
          done(error);
        }
      });
    },
    lock: (h, offset, length) => sys.lock(h, offset, length),
    unlock: (h, offset, length) => sys.unlock(h, offset, length),
    advise: (h, offset, length, advice) => sys.advise(h, offset, length, advice),
    protect: (h, offset, length, writable, exec) => sys.protect(h, offset, length, writable, exec),
    residency: (h, offset, length) => sys.residency(h, offset, length),
    unmap(h, buffer) {
      if (detach) {
        try {
          detach(buffer);
        } catch {
          // Not detachable after all: handled below like a runtime without detach.
        }
        if (buffer.byteLength === 0) {
          request(h, RELEASE);
          return;
        }
      }
      // Not detached: zero pages at the same address (POSIX), given back after collection.
      if (h.pending > 0) h.after = Math.max(h.after, ZERO);
      else sys.zero?.(h);
      undetached.register(buffer, h);
    },
    release: (h) => request(h, RELEASE),
  };
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
    koffi = createRequire(import.meta.url)("koffi") as Koffi;
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
