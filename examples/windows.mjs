// windows: reads a file in windows, one mapRegion(fd, length, RDONLY, 0, offset)
// at a time, and computes a checksum (32-bit FNV-1a) that equals the one of a
// plain read of the file. Offsets need no alignment: the library aligns the
// mapping down to the page (or, on Windows, 64 KiB) itself.
//
// This is how to work through a file larger than one buffer can hold (more
// than 4 GiB on Node 20 and Bun): map a window, use it, unmap it, move on.
// To keep the example quick it uses a small file (1,000,003 bytes) and small
// windows (100,000 bytes) by default; the code is the same for a large one.
//
//   node examples/windows.mjs [file [window]]
//   (also: bun examples/windows.mjs, deno run -A examples/windows.mjs)
//
// Without a file it writes one to a temporary folder first and removes it at
// the end.
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapRegion, RDONLY } from "portable-mmap";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continues a 32-bit FNV-1a hash `hash` over `bytes`. */
function fnv1a(hash, bytes) {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
  return h >>> 0;
}

/** The checksum of `fd`'s `size` bytes, mapping `window` bytes at a time. */
function checksumByWindows(fd, size, window) {
  let hash = FNV_OFFSET;
  let windows = 0;
  for (let offset = 0; offset < size; offset += window) {
    const m = mapRegion(fd, Math.min(window, size - offset), RDONLY, 0, offset);
    try {
      hash = fnv1a(hash, m);
      windows++;
    } finally {
      m.unmap();
    }
  }
  return { hash, windows };
}

/** The same checksum over plain reads of 1 MiB. */
function checksumByReading(fd) {
  const chunk = Buffer.alloc(1 << 20);
  let hash = FNV_OFFSET;
  for (let position = 0; ; ) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) return hash;
    hash = fnv1a(hash, chunk.subarray(0, n));
    position += n;
  }
}

/** 1,000,003 bytes of a pattern that does not repeat at page or window boundaries. */
function makeInput(dir) {
  const file = join(dir, "data.bin");
  const bytes = Buffer.alloc(1_000_003);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >>> 11)) & 255;
  writeFileSync(file, bytes);
  return file;
}

const hex = (n) => `0x${n.toString(16).padStart(8, "0")}`;

const dir = process.argv[2] === undefined ? mkdtempSync(join(tmpdir(), "portable-mmap-windows-")) : undefined;
try {
  const file = dir === undefined ? process.argv[2] : makeInput(dir);
  const window = Number(process.argv[3] ?? 100_000);
  if (!Number.isSafeInteger(window) || window < 1) throw new Error(`not a window size: ${process.argv[3]}`);
  // One descriptor for every window; it stays open until the last map is unmapped
  // (the fallback backend on Windows reads through it until then).
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const mapped = checksumByWindows(fd, size, window);
    const read = checksumByReading(fd);
    console.log(`file: ${size} bytes, window: ${window} bytes, ${mapped.windows} windows`);
    console.log(`checksum over the windows: ${hex(mapped.hash)}`);
    console.log(`checksum of a plain read:  ${hex(read)}`);
    if (mapped.hash !== read) process.exitCode = 1;
  } finally {
    closeSync(fd);
  }
} finally {
  if (dir !== undefined) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      // Windows before 10 1803 (and Wine 8) keeps a file mapped until the map is garbage collected.
      console.error(`could not remove ${dir}: ${error.message}`);
    }
  }
}
