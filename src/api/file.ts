/**
 * The file under a map: its size as the system reports it, and growing it
 * with its blocks reserved. Used by `map.ts` when mapping and by `mmap.ts`
 * (`fileSize()`, `resize()`).
 */
import { fstatSync, ftruncateSync } from "node:fs";
import type { Backend } from "../backends/contract.js";
import { fromNodeError } from "./errors.js";

/** Size of a regular file, or -1 for anything else (which not every backend can map). */
export function fileSize(backend: Backend, fd: number): number {
  if (backend.fileSize) return backend.fileSize(fd);
  let stats: ReturnType<typeof fstatSync>;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    throw fromNodeError(error, "fstat");
  }
  return stats.isFile() ? stats.size : -1;
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
    ftruncateSync(fd, end);
  } catch (error) {
    truncateBack(fd, size);
    throw fromNodeError(error, "ftruncate");
  }
}

/** Puts the file back to `size` after a failure; the failure is what gets reported. */
export function truncateBack(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
  } catch {
    // The error that made us undo is the one to report.
  }
}
