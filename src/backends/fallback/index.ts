/**
 * The fallback backend: a read/write-through emulation for hosts where no
 * real mapping is possible. See docs/fallback.md for what differs.
 *
 * - map reads the region into JavaScript memory (ANON: zeroed memory); RDWR
 *   maps also keep a copy of what the file held, to know what changed, and
 *   choose the descriptor to write back through (target.ts);
 * - flush writes the changed bytes of RDWR regions back with positioned
 *   writes, then fdatasync, so what flush() reports written is on the device;
 *   it refuses to write through a descriptor in append mode (placement.ts);
 *   flushAsync writes the same way and waits for the device off the
 *   JavaScript thread;
 * - unmap flushes RDWR regions, then detaches (the API calls it only once no
 *   flushAsync is pending, so the descriptor can be closed then);
 * - lock, unlock, advise and protect succeed as no-ops; residency reports
 *   every page resident;
 * - `populate` needs nothing: map reads the whole region up front anyway.
 */
import * as fs from "node:fs";
import { isDetached, moveOut } from "../../api/buffers.js";
import { fromNodeError, MmapSystemError, systemError } from "../../api/errors.js";
import type { Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";
import { onWorkerExit } from "../worker-exit.js";
import { forEachChange } from "./changes.js";
import { assertWritable, canReopen, sameFile } from "./descriptor.js";
import { readAt, writeAt } from "./io.js";
import { appendError, type Placement, writeFirstByte } from "./placement.js";
import { writeTarget } from "./target.js";

/** A fallback map's state. */
export interface Handle {
  /** The bytes; weak, because the API's FinalizationRegistry holds the handle and targets the buffer. */
  readonly buffer: WeakRef<ArrayBuffer>;
  /** Shared maps: the bytes as the file holds them, as far as this map knows. */
  known?: Uint8Array;
  /** Where writes go back to, for shared maps; -1 otherwise. */
  readonly fd: number;
  /** Whether `fd` is our own (reopened) descriptor, closed on release. */
  readonly ownFd: boolean;
  /** The file behind the caller's descriptor, to refuse writing if it was closed and reused. */
  readonly identity?: fs.BigIntStats;
  readonly fileOffset: number;
  /** Whether positioned writes through `fd` land where asked; `unknown` until a write tells. */
  placement: Placement;
  /** After unmap: the memory, moved out of the detached buffer, kept until that buffer is collected. */
  kept?: ArrayBuffer;
  released: boolean;
}

const windows = process.platform === "win32";

/** Decided at load: whether the file can be reopened depends on the runtime's permissions (Deno). */
function capabilitiesHere(): Capabilities {
  const needsDescriptor = windows || !canReopen();
  return {
    sharesPageCache: false,
    locksMemory: false,
    enforcesProtection: false,
    reportsResidency: false,
    detachesOnUnmap: true,
    releasesFileOnUnmap: true,
    survivesFileFaults: true,
    // Waiting for the device happens off the thread only on a descriptor of the backend's own:
    // the caller's may be closed, and its number reused, as soon as unmap() returns.
    flushesOffThread: !needsDescriptor,
    // Elsewhere the backend reopens the file through /proc/self/fd or /dev/fd (Deno: only with --allow-all).
    needsDescriptor,
    sharesMemoryByName: false,
  };
}

const capabilities = capabilitiesHere();

/** EBADF from a descriptor the API has already seen open means the wrong access mode: EACCES, as mmap says. */
function accessError(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EBADF" ? systemError("EACCES", "mmap") : fromNodeError(error, "mmap");
}

function bytesOf(handle: Handle): Uint8Array {
  const buffer = handle.buffer.deref();
  if (!buffer) throw systemError("EINVAL", "msync");
  return new Uint8Array(buffer);
}

function guard(handle: Handle, syscall: string): void {
  if (handle.identity && !sameFile(handle.fd, handle.identity)) throw systemError("EBADF", syscall);
}

/** Writes the bytes of the range that changed since they were last written or read. */
function writeChanges(handle: Handle, known: Uint8Array, offset: number, length: number): void {
  guard(handle, "msync");
  if (handle.placement === "append") throw appendError("msync");
  const current = bytesOf(handle);
  try {
    forEachChange(current, known, offset, length, (start, end) =>
      writeRun(handle, current.subarray(start, end), handle.fileOffset + start),
    );
  } catch (error) {
    throw error instanceof MmapSystemError ? error : fromNodeError(error, "msync");
  }
}

/** Writes one run of changed bytes; the first run through a descriptor of unknown placement finds it out. */
function writeRun(handle: Handle, bytes: Uint8Array, position: number): void {
  if (handle.placement === "unknown") {
    handle.placement = writeFirstByte(handle.fd, bytes, position);
    // One byte went to the end of the file; the rest of the map's changes must not follow it.
    if (handle.placement === "append") throw appendError("msync");
    writeAt(handle.fd, bytes.subarray(1), position + 1);
    return;
  }
  writeAt(handle.fd, bytes, position);
}

function flush(handle: Handle, offset: number, length: number): void {
  if (!handle.known) return;
  writeChanges(handle, handle.known, offset, length);
  try {
    fs.fdatasyncSync(handle.fd);
  } catch (error) {
    throw fromNodeError(error, "msync");
  }
}

/**
 * The writes happen here, on the JavaScript thread, in call order (so a later
 * flush can never be overtaken by an older one); the wait for the device goes
 * to the thread pool where the descriptor is the backend's own.
 */
async function flushAsync(handle: Handle, offset: number, length: number): Promise<void> {
  if (!handle.known) return;
  if (!handle.ownFd) return flush(handle, offset, length);
  writeChanges(handle, handle.known, offset, length);
  try {
    await new Promise<void>((resolve, reject) => fs.fdatasync(handle.fd, (err) => (err ? reject(err) : resolve())));
  } catch (error) {
    throw fromNodeError(error, "msync");
  }
}

/** Makes the memory of a map; a parameter of {@link createBackend} so that tests can make it fail. */
export type Allocate = (length: number) => ArrayBuffer;

const allocateZeroed: Allocate = (length) => new ArrayBuffer(length);

function allocateOrThrow(allocate: Allocate, length: number): ArrayBuffer {
  try {
    return allocate(length);
  } catch {
    throw systemError("ENOMEM", "mmap"); // V8 says RangeError: Array buffer allocation failed
  }
}

/** `request.populate` is satisfied as it is: every byte of the region is read here, at map time. */
function map(request: MapRequest, allocate: Allocate): Mapping<Handle> {
  const shared = request.shared && !request.anon;
  // Memory first: if there is not enough, nothing has been opened that would need closing.
  const buffer = allocateOrThrow(allocate, request.length);
  const known = shared ? new Uint8Array(allocateOrThrow(allocate, request.length)) : undefined;
  if (!request.anon) {
    const bytes = new Uint8Array(buffer);
    try {
      // A zero-length write fails on a descriptor not open for writing (a zero-length read is not even tried).
      if (shared) assertWritable(request.fd, request.offset);
      readAt(request.fd, bytes, request.offset); // if the file shrank since the size check, the rest stays zero
    } catch (error) {
      throw accessError(error);
    }
    known?.set(bytes);
  }
  const target = shared ? writeTarget(request.fd, !capabilities.needsDescriptor) : undefined;
  const handle: Handle = {
    buffer: new WeakRef(buffer),
    known,
    fd: target?.fd ?? -1,
    ownFd: target?.own ?? false,
    identity: target?.identity,
    fileOffset: request.offset,
    placement: target?.placement ?? "positioned",
    released: false,
  };
  if (handle.ownFd) withOwnFd.add(handle);
  return { buffer, handle };
}

// Maps holding a descriptor of their own. A worker's FinalizationRegistry
// never runs once the worker has ended, and Bun does not close a worker's
// descriptors as Node does: they are closed at its exit (unflushed changes
// of maps never unmapped are lost then, as when a map is dropped).
const withOwnFd = new Set<Handle>();
onWorkerExit(() => {
  for (const handle of withOwnFd) {
    try {
      closeOwnFd(handle);
    } catch {
      // closed already by the runtime
    }
  }
});

function closeOwnFd(handle: Handle): void {
  if (handle.released) return;
  handle.released = true;
  withOwnFd.delete(handle);
  if (handle.ownFd) fs.closeSync(handle.fd);
}

/** The buffer is collected: nothing can point at the memory any more. */
function release(handle: Handle): void {
  handle.kept = undefined;
  closeOwnFd(handle);
}

/**
 * Writes the whole region back (if flushing fails, nothing changes and the
 * error reaches the caller), then detaches. The memory is not freed yet:
 * work on the thread pool may still be writing into it (crypto.randomFill,
 * fs.read), so it is kept until the buffer object is collected.
 */
function detach(handle: Handle, buffer: ArrayBuffer): void {
  flush(handle, 0, buffer.byteLength);
  // EBUSY where the buffer stays attached (Bun, native code working on it): nothing changed.
  const kept = moveOut(buffer);
  // Drop the copy now: nothing is left to compare with.
  handle.known = undefined;
  handle.kept = kept;
}

/** A moved buffer cannot be written back; the API reports that. */
function unmap(handle: Handle, buffer: ArrayBuffer, moved: boolean): boolean {
  if (!moved && !isDetached(buffer)) detach(handle, buffer);
  handle.known = undefined;
  closeOwnFd(handle);
  return handle.kept !== undefined;
}

/**
 * Extends the file to `offset + length`, writing zeros past its end: the
 * file system allocates them now, so a full disk is ENOSPC here. (Holes
 * before the end stay holes: the fallback writes with write(), which reports
 * a full disk as an error, never as a fault.)
 */
function reserve(fd: number, offset: number, length: number): void {
  const end = offset + length;
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (error) {
    throw fromNodeError(error, "fstat");
  }
  // Only the region is written: a gap between the old end and the region
  // stays a hole, as with posix_fallocate on the region.
  const from = Math.max(size, offset);
  const zeros = Buffer.alloc(Math.min(1 << 20, Math.max(0, end - from)));
  try {
    for (let at = from; at < end; ) at += fs.writeSync(fd, zeros, 0, Math.min(zeros.length, end - at), at);
  } catch (error) {
    throw fromNodeError(error, "posix_fallocate");
  }
}

const noop = (): void => {};

/**
 * The fallback backend; `allocate` makes the memory of each map (and of the
 * copy RDWR maps keep), so that tests can make it fail.
 */
export function createBackend(allocate: Allocate = allocateZeroed): Backend<Handle> {
  return {
    name: "fallback",
    pageSize: 4096,
    allocationGranularity: windows ? 65536 : 4096,
    capabilities,
    advice: [], // plain memory: nothing to advise
    map: (request) => map(request, allocate),
    flush,
    flushAsync,
    lock: noop,
    unlock: noop,
    advise: noop,
    protect: noop,
    residency: (_handle, _offset, length) => new Uint8Array(Math.ceil(length / 4096)).fill(1),
    reserve,
    detach,
    unmap,
    release,
  };
}

/** Loads the fallback backend; it works on every host. */
export const load: BackendLoader = (): Backend<Handle> => createBackend();
