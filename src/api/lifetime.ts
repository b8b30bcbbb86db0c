/**
 * When a mapping is given back, for backends that need the API to tell them
 * (koffi: its buffers have no finalizer; the fallback: a descriptor of its
 * own). The native backend's buffers have finalizers and it tracks unmapped
 * buffers itself; it registers nothing here.
 *
 * Nothing here holds the `MMap`: the registries' held values are the state.
 */
import { closeSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import type { Backend } from "../backends/contract.js";
import { onWorkerExit } from "../backends/worker-exit.js";

/** What an `MMap` knows of its mapping; the registries hold it, so it must never reference the `MMap`. */
export interface State {
  backend: Backend;
  /** The backend's handle, or undefined for an empty map. */
  handle: unknown;
  /** The whole mapping, from the aligned offset. */
  buffer: ArrayBuffer;
  /** Where the map's bytes start in `buffer`. */
  delta: number;
  /** The map's length (its views read 0 once the memory moved elsewhere). */
  length: number;
  /** A descriptor the map owns and closes when it is released. */
  fd?: number;
  /** `fd` was kept at the caller's request (`keepOpen`), so `fileSize()` and `resize()` may use it. */
  fileKept: boolean;
  /** A Windows named section's size (it has no descriptor to ask; its size never changes). */
  segmentSize?: number;
  unmapped: boolean;
  /** `lock()` ran last (not `unlock()`): `resize()` unlocks the pages before it moves them. */
  locked?: boolean;
  /** `flushAsync` calls in flight; the backend's `unmap` waits for them. */
  pending: number;
  /** Set when `unmap()` ran while flushes were pending: whether the memory had moved. */
  finishMoved: boolean | undefined;
  /** The backend's fault counter when it was last looked at. */
  faultEpoch: number;
  /** The file offset of the map's first failed page, or -1. */
  faultAt: number;
  /** The backend wants `release(handle)` once the buffer is collected. */
  keep?: boolean;
}

// On a worker thread: each descriptor a map owns, and the map that owns it now (resize() hands it
// on). A worker's FinalizationRegistry never runs once it has ended, and Bun does not close a
// worker's descriptors as Node does: they are closed at its exit (as the fallback closes its own).
const workerFds = new Map<number, State>();

function closeWorkerFds(): void {
  for (const [fd, s] of workerFds) {
    try {
      if (s.fd === fd) closeOwnFd(s);
    } catch {
      // closed already by the runtime
    }
  }
  workerFds.clear();
}

/** Makes `s` the owner of `fd`, which it closes when it is released. */
export function adoptFd(s: State, fd: number): void {
  s.fd = fd;
  if (isMainThread) return;
  workerFds.set(fd, s);
}

if (!isMainThread) onWorkerExit(closeWorkerFds);

/**
 * Descriptors a backend opened itself (`shm_open`), each with the backend's
 * own way to close it: Deno's `node:fs` refuses to close a descriptor that
 * it did not open (EBADF).
 */
const foreign = new Map<number, (fd: number) => void>();

/** Records that `fd` was opened by a backend and is closed with `close`, until it is closed. */
export function adoptDescriptor(fd: number, close: (fd: number) => void): void {
  foreign.set(fd, close);
}

/** Closes a descriptor the package owns: with the backend's own call if a backend opened it, else `node:fs`. */
export function closeDescriptor(fd: number): void {
  const close = foreign.get(fd);
  if (close === undefined) {
    closeSync(fd);
    return;
  }
  foreign.delete(fd);
  close(fd);
}

/** Closes the descriptor the map owns, if any (once). */
export function closeOwnFd(s: State): void {
  if (s.fd === undefined) return;
  const fd = s.fd;
  s.fd = undefined;
  if (workerFds.get(fd) === s) workerFds.delete(fd);
  closeDescriptor(fd);
}

// Second stage: the buffer itself is collected, so nothing can point at the memory.
// The state is its held value, so it must not hold the buffer any more (see `awaitBuffer`).
const collected = new FinalizationRegistry<State>((s) => {
  try {
    s.backend.release?.(s.handle);
    closeOwnFd(s);
  } catch {
    // Nothing to report to: the program has dropped the map.
  }
});

/** Hands the state on to the second stage; the MMap is gone, so the state need not keep its buffer. */
function awaitBuffer(s: State): void {
  const buffer = s.buffer;
  s.buffer = released;
  collected.register(buffer, s);
}

const released = new ArrayBuffer(0);

// First stage: the MMap is collected. Its buffer is still here (held by the
// state), so it can be asked whether its memory was moved to another buffer.
const dropped = new FinalizationRegistry<State>((s) => {
  try {
    if (s.handle === undefined) {
      // An empty map: no system mapping, only a descriptor it kept (keepOpen).
      closeOwnFd(s);
      return;
    }
    if (s.unmapped) {
      if (s.keep) awaitBuffer(s);
      return;
    }
    if (s.buffer.byteLength === 0) {
      // Moved (transfer, a BYOB read) and never unmapped: the other buffer may
      // still use the memory, and nothing says when it is gone.
      s.unmapped = true;
      if (s.backend.abandon) s.backend.abandon(s.handle);
      else s.backend.release?.(s.handle);
      closeOwnFd(s);
      return;
    }
    // Views of the buffer may outlive the MMap; release when it is collected too.
    awaitBuffer(s);
  } catch {
    // Nothing to report to: the program has dropped the map.
  }
});

/** Registers a new map whose backend (or whose own descriptor) needs releasing after collection. */
export function dropOnCollection(owner: object, s: State): void {
  dropped.register(owner, s, s);
}

/**
 * The backend's `unmap`, once no flush is pending; then the descriptor the
 * map owns is closed. Where the backend keeps the address range, `dropped`
 * (registered at map time) hands it on when the MMap is collected.
 */
export function finish(s: State, moved: boolean): void {
  s.keep = s.backend.unmap(s.handle, s.buffer, moved);
  if (!s.keep) dropped.unregister(s);
  closeOwnFd(s);
}
