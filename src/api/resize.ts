/**
 * `MMap.resize()`: a new map of another length over the same file offset (or
 * anonymous memory), then the old one unmapped.
 *
 * A shared (`RDWR`) file map needs no copy: the new map is the same page
 * cache. The fallback's `RDWR` maps write their changes back first (as
 * `flush()` does), then the new map reads the file: copying the old memory
 * instead would carry bytes another writer has changed in the file since
 * (the fallback does not share) into the new map as if they were changes,
 * and its next flush would write them over the other writer's. An `ANON`
 * map's pages move where the backend can (`move`: native and koffi on
 * Linux, `mremap` with `MREMAP_DONTUNMAP`, so the old range stays reserved
 * and reads zeros until its usual unmap); elsewhere, and for `COPY` maps,
 * the bytes are copied into the new map up to the smaller length. `RDONLY`
 * maps read the file again (a stray write to one never reached the file,
 * and is not carried over).
 */
import type { Backend, Mapping } from "../backends/contract.js";
import { ANON, COPY, EXEC, RDONLY, RDWR } from "./constants.js";
import { fromNodeError, invalidArgValue, noFileError, outOfRange, systemError, unsupportedError } from "./errors.js";
import { fileSize, isMacSegment, setFileSize, truncateBack } from "./file.js";
import { adoptFd, type State } from "./lifetime.js";
import { checkLimitOf, replacingMap } from "./limits.js";
import type { MMap } from "./mmap.js";

/** How `resize` makes the new map; `map.ts` provides it, so that this file does not import it. */
export interface Remap {
  /** Maps a region as `mapChecked` does. */
  map(
    backend: Backend,
    fd: number,
    length: number,
    prot: number,
    flags: number,
    offset: number,
    grow: boolean,
    keepOpen: boolean,
  ): MMap;
  /** An `MMap` over an anonymous mapping the backend already made (`move`). */
  adopt(backend: Backend, mapping: Mapping<unknown>, length: number, prot: number, flags: number): MMap;
}

/** What `resize` needs of the old map besides its state. */
export interface OldMap {
  readonly map: MMap;
  readonly state: State;
  readonly prot: number;
  readonly flags: number;
  readonly fileOffset: number;
  /** Whether writes reach the file (RDWR, not ANON). */
  readonly shared: boolean;
  /** The state of another map (the new one). */
  readonly stateOf: (map: MMap) => State;
}

/** The old map's state must have passed `#live("resize")`; `newLength` and `truncate` are checked. */
export function resize(old: OldMap, newLength: number, truncate: boolean, remap: Remap): MMap {
  // The new map replaces the old: at the limit of live maps it is let through.
  return replacingMap(() => resizeLive(old, newLength, truncate, remap));
}

function resizeLive(old: OldMap, newLength: number, truncate: boolean, remap: Remap): MMap {
  const s = old.state;
  if (s.pending > 0) {
    const error = systemError("EBUSY", "resize");
    error.message += ": a flushAsync() of this map is still running; await it, then resize";
    throw error;
  }
  const anon = (old.flags & ANON) !== 0;
  if (truncate && !old.shared) {
    throw invalidArgValue("options.truncate", truncate, "needs a map made with RDWR of a file");
  }
  if (anon) return resizeAnon(old, newLength, remap);
  if (s.segmentSize !== undefined) {
    // A Windows named section has a fixed size and no descriptor to grow it through.
    throw unsupportedError(
      "resize() cannot change the size of a Windows shared-memory segment: a named section keeps the size it was created with; create another segment of the size you need",
    );
  }
  if (!s.fileKept || s.fd === undefined) throw noFileError("resize");
  // macOS sets a segment's size once: a map of it may change length within it, no more.
  if (isMacSegment(s.fd) && (truncate || old.fileOffset + newLength > fileSize(s.backend, s.fd))) {
    throw unsupportedError(
      "resize() cannot change the size of a shared-memory segment on macOS: the system sets a segment's size once, when it is created; create another segment of the size you need",
    );
  }
  const shrinks = newLength < s.length;
  if (truncate && shrinks && !s.backend.capabilities.releasesFileOnUnmap) {
    // Windows keeps the old view (and its hold on the file's length) until the buffer is collected.
    throw unsupportedError(
      "resize() cannot truncate the file on this system: the old view stays mapped until it is garbage-collected (Windows without placeholders); resize without truncate, or unmap and truncate later",
    );
  }
  const fd = s.fd;
  if (!old.shared) {
    const size = fileSize(s.backend, fd);
    if (old.fileOffset + newLength > size) {
      throw outOfRange(
        "newLength",
        `<= ${Math.max(0, size - old.fileOffset)}: the map would end past the end of the file (${size} bytes), and only an RDWR map extends its file`,
        newLength,
      );
    }
  }
  // The fallback: its changes reach the file first, and the new map reads them from there.
  if (old.shared && !s.backend.capabilities.sharesPageCache) old.map.flush();
  // The size before the new map may grow the file, to put it back if the old map cannot be unmapped.
  const sizeBefore = old.shared ? fileSize(s.backend, fd) : -1;
  // The new map keeps the descriptor; the old one must not close it now.
  const next = remap.map(s.backend, fd, newLength, old.prot, old.flags, old.fileOffset, old.shared, true);
  if ((old.prot & ~EXEC) === COPY) {
    try {
      carryOver(s, next, newLength);
    } catch (error) {
      dropWithoutClosing(old.stateOf(next), next);
      throw error;
    }
  }
  s.fd = undefined;
  try {
    old.map.unmap();
  } catch (error) {
    if (!s.unmapped) {
      // Nothing changed (the backend refused: EBUSY on Bun while fs.read works on the buffer):
      // the old map keeps its descriptor, the new one goes, and the file its size.
      adoptFd(s, fd);
      dropWithoutClosing(old.stateOf(next), next);
      if (sizeBefore >= 0 && old.fileOffset + newLength > sizeBefore) truncateBack(fd, sizeBefore);
    }
    throw error;
  }
  if (truncate && shrinks) {
    try {
      setFileSize(fd, old.fileOffset + newLength);
    } catch (error) {
      next.unmap();
      const coded = fromNodeError(error, "ftruncate");
      coded.message += ": the file keeps its size; the map was resized, then unmapped too (its bytes are in the file)";
      throw coded;
    }
  }
  return next;
}

/**
 * Where the backend can move the pages (Linux), nothing is copied; else a new
 * map gets a copy. If the old map then cannot be unmapped (Bun pins a buffer
 * that native code works on), the bytes go back into it and the new map goes.
 */
function resizeAnon(old: OldMap, newLength: number, remap: Remap): MMap {
  const s = old.state;
  // The old range stays mapped until its unmap below: one mapping more meanwhile.
  if (s.backend.move) checkLimitOf(s.backend);
  // Linux clears the lock of a range mremap(MREMAP_DONTUNMAP) leaves behind without taking it
  // off the process's locked memory (VmLck, counted against RLIMIT_MEMLOCK): each resize of a
  // locked map would charge its size for good. Unlocked first, it is taken off; a lock() is not
  // carried over (as protect() is not), and the old map is locked again if the resize fails.
  const relock = s.locked === true && s.backend.move !== undefined;
  if (relock) {
    s.backend.unlock(s.handle, 0, s.length);
    s.locked = false;
  }
  try {
    const moved = s.backend.move?.(s.handle, newLength);
    let next: MMap;
    if (moved) {
      next = remap.adopt(s.backend, moved, newLength, old.prot, old.flags);
    } else {
      next = remap.map(s.backend, -1, newLength, old.prot, old.flags, 0, false, false);
      carryOverOrDrop(s, next, newLength);
    }
    try {
      old.map.unmap();
    } catch (error) {
      if (moved && !s.unmapped) putBack(old, next, newLength);
      dropQuietly(next);
      throw error;
    }
    return next;
  } catch (error) {
    if (relock && !s.unmapped) lockAgain(s);
    throw error;
  }
}

/** Locks the old map again after a failed resize; the failure is what gets reported. */
function lockAgain(s: State): void {
  try {
    s.backend.lock(s.handle, 0, s.length);
    s.locked = true;
  } catch {
    // Over RLIMIT_MEMLOCK now (something else locked memory meanwhile): the map stays usable.
  }
}

/** The bytes of moved pages go back into the old map (its range is still mapped, empty), writable or not. */
function putBack(old: OldMap, next: MMap, newLength: number): void {
  const s = old.state;
  const count = Math.min(s.length, newLength);
  const readOnly = !old.map.pagesWritable;
  if (readOnly) old.map.protect(RDWR);
  new Uint8Array(s.buffer, s.delta, count).set(new Uint8Array(next.buffer, next.byteOffset, count));
  if (readOnly) old.map.protect(RDONLY | (old.prot & EXEC));
}

/**
 * Copies the bytes both maps have from the old map's memory (no user-visible
 * hooks on the way). A new map whose pages take no writes (`ANON` with
 * `RDONLY | EXEC`, whose bytes `protect(RDWR)` may have changed; `RDONLY`
 * under strict overcommit) is made writable for the copy, then read-only
 * again: a write into it would be a fault.
 */
function carryOver(s: State, next: MMap, newLength: number): void {
  const count = Math.min(s.length, newLength);
  if (count === 0) return;
  const source = new Uint8Array(s.buffer, s.delta, count);
  const readOnly = !next.pagesWritable;
  // Zeros are what the new pages hold already. (Windows cannot make a read-only view of an
  // anonymous section writable: there such a map's bytes never stop being zeros.)
  if (readOnly && allZero(source)) return;
  if (readOnly) next.protect(RDWR);
  new Uint8Array(next.buffer, next.byteOffset, count).set(source);
  if (readOnly) next.protect(RDONLY | (next.prot & EXEC));
}

const zeros = new Uint8Array(65_536);

/** Whether every byte is 0, compared in native chunks. */
function allZero(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.length; at += zeros.length) {
    const part = bytes.subarray(at, at + zeros.length);
    if (Buffer.compare(part, zeros.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

/** `carryOver` for an `ANON` map; if it fails, the new map goes and the error is thrown. */
function carryOverOrDrop(s: State, next: MMap, newLength: number): void {
  try {
    carryOver(s, next, newLength);
  } catch (error) {
    dropQuietly(next);
    throw error;
  }
}

/** Unmaps a new map that will not be returned; the error that made us drop it is the one to report. */
function dropQuietly(next: MMap): void {
  try {
    next.unmap();
  } catch {
    // The caller's error is the one to report.
  }
}

/** Unmaps a map made by `resize` whose descriptor still belongs to the old map. */
function dropWithoutClosing(own: State, next: MMap): void {
  own.fd = undefined;
  own.fileKept = false;
  try {
    next.unmap();
  } catch {
    // The old map's error is the one to report.
  }
}
