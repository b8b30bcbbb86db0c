// scan-lines: counts the lines of a file through a read-only map, with
// Buffer#indexOf over `asBuffer()`: no read() calls and no copy of the file;
// the OS pages it in as the scan goes.
//
//   node examples/scan-lines.mjs [file]
//   (also: bun examples/scan-lines.mjs, deno run -A examples/scan-lines.mjs)
//
// Without a file it writes one of 200,000 lines to a temporary folder first
// and removes it at the end. Prints the number of lines and bytes and the
// longest line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapFile } from "portable-mmap";

const NEWLINE = 10;

/** Lines, bytes and the longest line of `file`; a last line without a newline counts too. */
function scan(file) {
  const m = mapFile(file); // RDONLY; mapFile closes its descriptor, the map stays valid
  try {
    const bytes = m.asBuffer(); // a Buffer over the mapped bytes, not a copy
    let lines = 0;
    let longest = 0;
    let longestLine = 0;
    for (let start = 0; start < bytes.length; ) {
      let end = bytes.indexOf(NEWLINE, start);
      if (end === -1) end = bytes.length;
      lines++;
      if (end - start > longest) {
        longest = end - start;
        longestLine = lines;
      }
      start = end + 1;
    }
    return { bytes: bytes.length, lines, longest, longestLine };
  } finally {
    m.unmap();
  }
}

/** Writes 200,000 lines "line <n>: xxx..." (0 to 60 x's) to a new file in `dir`. */
function makeInput(dir) {
  const file = join(dir, "lines.txt");
  const lines = [];
  for (let n = 1; n <= 200_000; n++) lines.push(`line ${n}: ${"x".repeat(n % 61)}\n`);
  writeFileSync(file, lines.join(""));
  return file;
}

const dir = process.argv[2] === undefined ? mkdtempSync(join(tmpdir(), "portable-mmap-scan-lines-")) : undefined;
try {
  const result = scan(dir === undefined ? process.argv[2] : makeInput(dir));
  console.log(`lines: ${result.lines}`);
  console.log(`bytes: ${result.bytes}`);
  console.log(
    result.lines > 0 ? `longest line: ${result.longest} bytes (line ${result.longestLine})` : "longest line: none",
  );
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
