/**
 * The file under a map: its size as the system reports it, and growing it
 * with its blocks reserved. Used by `map.ts` when mapping and by `mmap.ts`
 * (`fileSize()`, `resize()`).
 */
import { closeSync, fstatSync, ftruncateSync } from "node:fs";
import type { Backend } from "../backends/contract.js";
import { fromNodeError } from "./errors.js";
import { reopen } from "./reopen.js";

/** Size of a regular file, or -1 for anything else (which not every backend can map). */
export function fileSize(backend: Backend, fd: number): number {
  if (backend.fileSize) return backend.fileSize(fd);
  let stats: ReturnType<typeof fstatSync>;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    throw fromNodeError(error, "fstat");
  }
  return stats.isFile() || isMacSegmentMode(stats.mode) ? stats.size : -1;
}

const S_IFMT = 0o170000;

/**
 * macOS reports a POSIX shared-memory segment's mode without a file type
 * (its `fstat` gives only the permission bits), yet it has a size and maps
 * like a file.
 */
function isMacSegmentMode(mode: number): boolean {
  return process.platform === "darwin" && (mode & S_IFMT) === 0;
}

/**
 * Whether `fd` is a POSIX shared-memory segment on macOS, whose size the
 * system sets once (the first `ftruncate`) and never changes.
 */
export function isMacSegment(fd: number): boolean {
  if (process.platform !== "darwin") return false;
  try {
    return isMacSegmentMode(fstatSync(fd).mode);
  } catch {
    return false;
  }
}

// Where a file system cannot reserve blocks the file is only extended (sparse).
const unsupported = new Set(["EOPNOTSUPP", "ENOTSUP", "ENOSYS"]);

/**
 * Extends the file to `end` with the blocks of `[offset, end)` reserved, so
 * that a full disk is ENOSPC now rather than a fault later. On failure the
 * file is put back to `size`.
 */
export function growFile(backend: Backend, fd: number, size: number, offset: number, end: number): void {
  try {
    backend.reserve(fd, offset, end - offset);
    return;
  } catch (error) {
    if (!unsupported.has((error as { code?: string }).code ?? "")) {
      truncateBack(fd, size);
      throw error;
    }
  }
  try {
    setFileSize(fd, end);
  } catch (error) {
    truncateBack(fd, size);
    throw fromNodeError(error, "ftruncate");
  }
}

/**
 * `ftruncate`, also on a descriptor the runtime did not open itself (a
 * backend's `shm_open`): Deno's `node:fs` refuses those (EBADF), so the file
 * is then reopened through /proc/self/fd (Linux) or /dev/fd (macOS, the
 * BSDs) and truncated through that descriptor. Throws the first error where
 * neither works.
 */
export function setFileSize(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== "EBADF") throw error;
    let own: number;
    try {
      own = reopen(fd).fd;
    } catch {
      throw error;
    }
    try {
      ftruncateSync(own, size);
    } finally {
      closeSync(own);
    }
  }
}

/** Puts the file back to `size` after a failure; the failure is what gets reported. */
export function truncateBack(fd: number, size: number): void {
  try {
    setFileSize(fd, size);
  } catch {
    // The error that made us undo is the one to report.
  }
}
