/**
 * The fallback backend: a read/write-through emulation for hosts where no
 * real mapping is possible. See docs/fallback.md for what differs.
 *
 * - map reads the region into JavaScript memory (ANON: zeroed memory); RDWR
 *   maps also keep a copy of what the file held, to know what changed;
 * - flush writes the changed bytes of RDWR regions back with positioned
 *   writes, then fdatasync, so what flush() reports written is on the device;
 *   flushAsync writes the same way and waits for the device off the
 *   JavaScript thread;
 * - unmap flushes RDWR regions, then detaches (the API calls it only once no
 *   flushAsync is pending, so the descriptor can be closed then);
 * - lock, unlock, advise and protect succeed as no-ops; residency reports
 *   every page resident.
 */
import * as fs from "node:fs";
import { isDetached, moveOut } from "../../api/buffers.js";
import { fromNodeError, systemError } from "../../api/errors.js";
import type { Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";
import { forEachChange } from "./changes.js";
import { assertWritable, canReopen, openOwnDescriptor, sameFile } from "./descriptor.js";

interface Handle {
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
    // Waiting for the device happens off the thread only on a descriptor of the backend's own:
    // the caller's may be closed, and its number reused, as soon as unmap() returns.
    flushesOffThread: !needsDescriptor,
    // Elsewhere the backend reopens the file through /proc/self/fd or /dev/fd (Deno: only with --allow-all).
    needsDescriptor,
  };
}

const capabilities = capabilitiesHere();

/** EBADF from a descriptor the API has already seen open means the wrong access mode: EACCES, as mmap says. */
function accessError(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EBADF" ? systemError("EACCES", "mmap") : fromNodeError(error, "mmap");
}

function readRegion(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) break; // The file shrank since the size check: the rest stays zero.
    done += n;
  }
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
  const current = bytesOf(handle);
  try {
    forEachChange(current, known, offset, length, (start, end) => {
      for (let done = start; done < end; )
        done += fs.writeSync(handle.fd, current, done, end - done, handle.fileOffset + done);
    });
  } catch (error) {
    throw fromNodeError(error, "msync");
  }
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

function map(request: MapRequest): Mapping<Handle> {
  const buffer = new ArrayBuffer(request.length);
  let fd = -1;
  let ownFd = false;
  let identity: fs.BigIntStats | undefined;
  let known: Uint8Array | undefined;
  if (!request.anon) {
    try {
      // A zero-length write fails on a descriptor not open for writing (a zero-length read is not even tried).
      if (request.shared) assertWritable(request.fd, request.offset);
      readRegion(request.fd, new Uint8Array(buffer), request.offset);
    } catch (error) {
      throw accessError(error);
    }
    if (request.shared) {
      if (capabilities.needsDescriptor) {
        fd = request.fd;
        identity = fs.fstatSync(fd, { bigint: true });
      } else {
        // The caller may close its descriptor after map(): write back through one of our own.
        try {
          fd = openOwnDescriptor(request.fd);
        } catch (error) {
          throw fromNodeError(error, "mmap");
        }
        ownFd = true;
      }
      known = new Uint8Array(buffer).slice();
    }
  }
  const handle: Handle = {
    buffer: new WeakRef(buffer),
    known,
    fd,
    ownFd,
    identity,
    fileOffset: request.offset,
    released: false,
  };
  return { buffer, handle };
}

function closeOwnFd(handle: Handle): void {
  if (handle.released) return;
  handle.released = true;
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
  // Drop the copy now: nothing is left to compare with.
  handle.known = undefined;
  handle.kept = moveOut(buffer);
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
  const zeros = Buffer.alloc(Math.min(1 << 20, Math.max(0, end - size)));
  try {
    for (let at = size; at < end; ) at += fs.writeSync(fd, zeros, 0, Math.min(zeros.length, end - at), at);
  } catch (error) {
    throw fromNodeError(error, "posix_fallocate");
  }
}

const noop = (): void => {};

/** Loads the fallback backend; it works on every host. */
export const load: BackendLoader = (): Backend<Handle> => ({
  name: "fallback",
  pageSize: 4096,
  allocationGranularity: windows ? 65536 : 4096,
  capabilities,
  map,
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
});
