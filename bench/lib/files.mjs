/** The files the scenarios map, made once per run in the run's temporary folder. */
import { randomFillSync } from "node:crypto";
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";

const CHUNK = 16 * 2 ** 20;

/** Reads the whole file once so that its pages are in the page cache. */
export function warmPageCache(path) {
  const fd = openSync(path, "r");
  const buffer = Buffer.allocUnsafe(CHUNK);
  try {
    let position = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, position);
      if (n === 0) break;
      position += n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A file of `size` bytes of random data (one random 16 MiB block, repeated),
 * page-cached. Returns its path. `cache` keeps one file per size for the run.
 */
export function dataFile(dir, size, cache = dataFile.made) {
  const known = cache.get(size);
  if (known) return known;
  const path = join(dir, `data-${size}.bin`);
  const block = randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK, size)));
  const fd = openSync(path, "w");
  try {
    for (let at = 0; at < size; at += block.length) writeSync(fd, block, 0, Math.min(block.length, size - at), at);
  } finally {
    closeSync(fd);
  }
  warmPageCache(path);
  cache.set(size, path);
  return path;
}
dataFile.made = new Map();

/** A sparse file of `size` bytes (no blocks allocated). */
export function sparseFile(dir, size) {
  const path = join(dir, `sparse-${size}.bin`);
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return path;
}
