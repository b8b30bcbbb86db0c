// lookup-workers: a read-only lookup table in a file, used by several worker
// threads at once. Each worker maps the file itself with RDONLY (real maps
// share the file's pages in memory: nothing is copied per worker), looks up
// its keys and sends the values back; the main thread checks every answer.
//
//   node examples/lookup-workers.mjs [workers]
//   (also: bun examples/lookup-workers.mjs, deno run -A examples/lookup-workers.mjs)
//
// The table (65,536 little-endian uint32 values, value(k) = k * 0x9e3779b1
// mod 2^32) is written to a temporary folder first and removed at the end.
// `workers` defaults to 4; each looks up 1,000 keys.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { mapFile } from "portable-mmap";

const ENTRIES = 65_536;
const LOOKUPS = 1000;

const value = (key) => Math.imul(key, 0x9e3779b1) >>> 0;
const keysOf = (worker) => Array.from({ length: LOOKUPS }, (_, j) => (worker * 7919 + j * 104_729) % ENTRIES);

/** In a worker: map the table, look up the keys, send the values. */
function lookUp({ file, keys }) {
  const m = mapFile(file); // RDONLY: the whole table
  try {
    const table = m.asBuffer();
    parentPort.postMessage(keys.map((key) => table.readUInt32LE(key * 4)));
  } finally {
    m.unmap();
  }
}

/** Starts a worker on this same file; resolves with its answers once it has ended. */
function start(file, keys) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { file, keys } });
  return new Promise((resolve, reject) => {
    let answers;
    worker.on("message", (message) => {
      answers = message;
    });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 && answers ? resolve(answers) : reject(new Error(`worker exit ${code}`))));
  });
}

async function main(workers) {
  const dir = mkdtempSync(join(tmpdir(), "portable-mmap-lookup-workers-"));
  try {
    const file = join(dir, "table.bin");
    const table = Buffer.alloc(ENTRIES * 4);
    for (let key = 0; key < ENTRIES; key++) table.writeUInt32LE(value(key), key * 4);
    writeFileSync(file, table);
    console.log(`table: ${ENTRIES} entries, ${table.length} bytes`);

    const keys = Array.from({ length: workers }, (_, w) => keysOf(w));
    const answers = await Promise.all(keys.map((k) => start(file, k)));
    let correct = 0;
    answers.forEach((values, w) => {
      const right = values.filter((v, j) => v === value(keys[w][j])).length;
      console.log(`worker ${w + 1}: ${values.length} lookups, ${right} correct`);
      correct += right;
    });
    console.log(`${correct} of ${workers * LOOKUPS} answers correct`);
    if (correct !== workers * LOOKUPS) process.exitCode = 1;
  } finally {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      // Windows before 10 1803 (and Wine 8) keeps a file mapped until the map is garbage collected.
      console.error(`could not remove ${dir}: ${error.message}`);
    }
  }
}

if (isMainThread) {
  const workers = Number(process.argv[2] ?? 4);
  if (!Number.isSafeInteger(workers) || workers < 1) throw new Error(`not a number of workers: ${process.argv[2]}`);
  await main(workers);
} else {
  lookUp(workerData);
}
