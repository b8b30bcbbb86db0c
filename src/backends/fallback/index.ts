/**
 * The fallback backend: a read/write-through emulation for hosts where no
 * real mapping is possible. See docs/fallback.md for what differs.
 *
 * - map reads the region into JavaScript memory (ANON: zeroed memory);
 * - flush writes RDWR regions back with positioned writes, then fdatasync,
 *   so what flush() reports written is on the device;
 * - unmap flushes RDWR regions, then detaches;
 * - lock, unlock, advise and protect succeed as no-ops; residency reports
 *   every page resident.
 */
import * as fs from "node:fs";
import { detachPlain } from "../../api/buffers.js";
import { fromNodeError, systemError } from "../../api/errors.js";
import type { Backend, BackendLoader, Capabilities, Mapping, MapRequest } from "../contract.js";
import { assertWritable, canReopen, openOwnDescriptor, sameFile } from "./descriptor.js";

interface Handle {
  /** The bytes; weak, because the API's FinalizationRegistry holds the handle and targets the buffer. */
  readonly buffer: WeakRef<ArrayBuffer>;
  /** Where writes go back to, for shared maps; -1 otherwise. */
  readonly fd: number;
  /** Whether `fd` is our own (reopened) descriptor, closed on release. */
  readonly ownFd: boolean;
  /** The file behind the caller's descriptor, to refuse writing if it was closed and reused. */
  readonly identity?: fs.BigIntStats;
  readonly fileOffset: number;
  /** flushAsync calls under way; the descriptor is closed only after the last one. */
  pending: number;
  released: boolean;
}

const windows = process.platform === "win32";

/** Decided at load: whether the file can be reopened depends on the runtime's permissions (Deno). */
function capabilitiesHere(): Capabilities {
  return {
    sharesPageCache: false,
    locksMemory: false,
    enforcesProtection: false,
    reportsResidency: false,
    detachesOnUnmap: true,
    flushesOffThread: true,
    // Elsewhere the backend reopens the file through /proc/self/fd or /dev/fd (Deno: only with --allow-all).
    needsDescriptor: windows || !canReopen(),
  };
}

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

function writeRegion(handle: Handle, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(handle.fd, bytes, done, bytes.length - done, position + done);
  fs.fdatasyncSync(handle.fd);
}

function bytesOf(handle: Handle, offset: number, length: number): Uint8Array {
  const buffer = handle.buffer.deref();
  if (!buffer) throw systemError("EINVAL", "msync");
  return new Uint8Array(buffer, offset, length);
}

function guard(handle: Handle, syscall: string): void {
  if (handle.identity && !sameFile(handle.fd, handle.identity)) throw systemError("EBADF", syscall);
}

function flush(handle: Handle, offset: number, length: number): void {
  if (handle.fd < 0) return;
  guard(handle, "msync");
  try {
    writeRegion(handle, bytesOf(handle, offset, length), handle.fileOffset + offset);
  } catch (error) {
    throw fromNodeError(error, "msync");
  }
}

async function flushAsync(handle: Handle, offset: number, length: number): Promise<void> {
  if (handle.fd < 0) return;
  guard(handle, "msync");
  // A copy, so that unmap() while this is pending cannot pull the memory away.
  const bytes = bytesOf(handle, offset, length).slice();
  const { fd } = handle;
  handle.pending++;
  try {
    let done = 0;
    while (done < bytes.length) {
      done += await new Promise<number>((resolve, reject) =>
        fs.write(fd, bytes, done, bytes.length - done, handle.fileOffset + offset + done, (err, n) =>
          err ? reject(err) : resolve(n),
        ),
      );
    }
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  } catch (error) {
    throw fromNodeError(error, "msync");
  } finally {
    handle.pending--;
    if (handle.released) closeIfIdle(handle);
  }
}

function map(request: MapRequest): Mapping<Handle> {
  const buffer = new ArrayBuffer(request.length);
  let fd = -1;
  let ownFd = false;
  let identity: fs.BigIntStats | undefined;
  if (!request.anon) {
    try {
      // A zero-length write fails on a descriptor not open for writing (a zero-length read is not even tried).
      if (request.shared) assertWritable(request.fd, request.offset);
      readRegion(request.fd, new Uint8Array(buffer), request.offset);
    } catch (error) {
      throw accessError(error);
    }
    if (request.shared) {
      const own = windows ? -1 : openOwnDescriptor(request.fd);
      ownFd = own >= 0;
      fd = ownFd ? own : request.fd;
      if (!ownFd) identity = fs.fstatSync(fd, { bigint: true });
    }
  }
  const handle: Handle = {
    buffer: new WeakRef(buffer),
    fd,
    ownFd,
    identity,
    fileOffset: request.offset,
    pending: 0,
    released: false,
  };
  return { buffer, handle };
}

function closeIfIdle(handle: Handle): void {
  if (handle.ownFd && handle.pending === 0) fs.closeSync(handle.fd);
}

function release(handle: Handle): void {
  handle.released = true;
  closeIfIdle(handle);
}

function unmap(handle: Handle, buffer: ArrayBuffer): void {
  // Write back first: if that fails, the map stays as it was and the error reaches the caller.
  flush(handle, 0, buffer.byteLength);
  detachPlain(buffer);
  release(handle);
}

const noop = (): void => {};

/** Loads the fallback backend; it works on every host. */
export const load: BackendLoader = (): Backend<Handle> => ({
  name: "fallback",
  pageSize: 4096,
  allocationGranularity: windows ? 65536 : 4096,
  capabilities: capabilitiesHere(),
  map,
  flush,
  flushAsync,
  lock: noop,
  unlock: noop,
  advise: noop,
  protect: noop,
  residency: (_handle, _offset, length) => new Uint8Array(Math.ceil(length / 4096)).fill(1),
  unmap,
  release,
});
