// append-log: an append-only log in a file written through an RDWR map.
// Records are written into the map, made durable with flush() of just the
// bytes written, and only then counted in the header (so a crash never leaves
// a header that points at records not on the device). When the map is full,
// `resize()` doubles it: the file is extended (its blocks reserved, so a full
// disk is an error there, not a crash later) and the same page cache is
// mapped again. The map keeps its descriptor for that (`keepOpen: true`). At
// the end the log is mapped read-only and its records are read back.
//
//   node examples/append-log.mjs [file]
//   (also: bun examples/append-log.mjs, deno run -A examples/append-log.mjs)
//
// Without a file the log is made in a temporary folder and removed at the
// end. With one, 200 records are appended to that log (it is created if
// missing or empty), so a second run continues after the first.
//
// Layout: a 16-byte header ("PMMAPLOG", the end of the last record, the
// number of records; little-endian uint32s), then records: a uint32 length
// and that many bytes of UTF-8.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapFile, RDWR } from "portable-mmap";

const MAGIC = "PMMAPLOG";
const HEADER = 16;
const INITIAL_SIZE = 4096;
const RECORDS = 200;
const BATCH = 50; // records written between two flushes

const text = (n) => `record ${n}: ${"ab".repeat(n % 23)}`;

/** Maps `size` bytes of the log RDWR, creating or extending the file to that size; kept open for resize(). */
function mapLog(file, size) {
  return mapFile(file, { prot: RDWR, length: size, grow: true, keepOpen: true });
}

function append(file, records) {
  // An existing log is mapped as it is (checked before anything grows); a new one at INITIAL_SIZE.
  const size = existsSync(file) ? statSync(file).size : 0;
  let m = mapLog(file, size > 0 ? size : INITIAL_SIZE);
  const sizes = [m.length];
  try {
    let log = m.asBuffer();
    if (size === 0) {
      log.write(MAGIC, 0, "latin1");
      log.writeUInt32LE(HEADER, 8);
      log.writeUInt32LE(0, 12);
      m.flush({ offset: 0, length: HEADER });
    } else if (log.toString("latin1", 0, 8) !== MAGIC) {
      throw new Error(`${file} is not a log of this example`);
    }
    let end = log.readUInt32LE(8);
    let count = log.readUInt32LE(12);
    let committed = end;

    // The records from `committed` to `end` on the device first, then the header that counts them.
    const commit = () => {
      if (end === committed) return;
      m.flush({ offset: committed, length: end - committed });
      log.writeUInt32LE(end, 8);
      log.writeUInt32LE(count, 12);
      m.flush({ offset: 0, length: HEADER });
      committed = end;
    };

    const first = count + 1;
    for (let i = 0; i < records; i++) {
      const record = Buffer.from(text(count + 1));
      const need = end + 4 + record.length;
      if (need > m.length) {
        commit();
        let bigger = m.length * 2;
        while (bigger < need) bigger *= 2;
        m = m.resize(bigger); // the old map and `log` read as length 0 from now on
        log = m.asBuffer();
        sizes.push(m.length);
      }
      log.writeUInt32LE(record.length, end);
      record.copy(log, end + 4);
      end = need;
      count++;
      if (count % BATCH === 0) commit();
    }
    commit();
    return { first, last: count, sizes };
  } finally {
    m.unmap();
  }
}

function readBack(file) {
  const m = mapFile(file); // read-only: the whole file
  try {
    const log = m.asBuffer();
    if (log.toString("latin1", 0, 8) !== MAGIC) throw new Error(`${file} is not a log of this example`);
    const end = log.readUInt32LE(8);
    const records = [];
    for (let at = HEADER; at < end; ) {
      const length = log.readUInt32LE(at);
      records.push(log.toString("utf8", at + 4, at + 4 + length));
      at += 4 + length;
    }
    if (records.length !== log.readUInt32LE(12)) throw new Error("the header's count does not match its records");
    return { records, end, size: m.length };
  } finally {
    m.unmap();
  }
}

const dir = process.argv[2] === undefined ? mkdtempSync(join(tmpdir(), "portable-mmap-append-log-")) : undefined;
try {
  const file = dir === undefined ? process.argv[2] : join(dir, "records.log");
  const appended = append(file, RECORDS);
  console.log(`appended records ${appended.first} to ${appended.last}, flushed every ${BATCH}`);
  console.log(
    appended.sizes.length > 1
      ? `map grew: ${appended.sizes.join(" -> ")} bytes`
      : `map: ${appended.sizes[0]} bytes, no growth needed`,
  );
  const { records, end, size } = readBack(file);
  const wrong = records.findIndex((record, i) => record !== text(i + 1));
  if (wrong >= 0) throw new Error(`record ${wrong + 1} reads "${records[wrong]}"`);
  console.log(`read back ${records.length} records, ${end} of ${size} bytes used, all as written`);
  console.log(`last: ${records.at(-1)}`);
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
