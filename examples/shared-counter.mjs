// shared-counter: two processes add to one counter in a file they both map
// RDWR, with Atomics.add on an Int32Array over the map, and no addition is lost.
//
//   node examples/shared-counter.mjs [additions]
//   (also: bun examples/shared-counter.mjs, deno run -A examples/shared-counter.mjs)
//
// The parent maps a small file in a temporary folder, starts this script again
// as its child on the same file (process.execPath with process.execArgv: the
// same runtime; Deno turns that into `deno run` itself), and both add 1
// `additions` times (default 1,000,000) at the same time. The count is then
// 2 x additions, in the map and in the file. This needs memory shared between
// processes: with the fallback backend, which gives every map a copy of the
// file, the example says so and exits 0.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo, mapFile, RDWR } from "portable-mmap";

const COUNT = 0; // Int32 slot of the counter
const READY = 1; // Int32 slot the child sets to 1 once it has mapped the file

/** An Int32Array over the first two 32-bit slots of the map. */
function slots(m) {
  // An Int32Array must start at a multiple of 4 bytes. A map of a whole file
  // starts at byteOffset 0 (a region at an unaligned file offset would not).
  if (m.byteOffset % 4 !== 0) throw new Error(`the map starts at byteOffset ${m.byteOffset}, not a multiple of 4`);
  return new Int32Array(m.buffer, m.byteOffset, 2);
}

function child(file, additions) {
  const m = mapFile(file, { prot: RDWR });
  try {
    const cells = slots(m);
    Atomics.store(cells, READY, 1);
    for (let i = 0; i < additions; i++) Atomics.add(cells, COUNT, 1);
  } finally {
    m.unmap();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function parent(additions) {
  const info = backendInfo();
  const capabilities = info.backends.find((b) => b.name === info.selected)?.capabilities;
  if (!capabilities) throw new Error(`no backend: ${info.error}`);
  if (!capabilities.sharesPageCache) {
    console.log(`backend ${info.selected}: every map is a copy of the file (sharesPageCache: false)`);
    console.log("shared-counter needs memory shared between processes: run it with the native or koffi backend");
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), "portable-mmap-shared-counter-"));
  try {
    const file = join(dir, "counter.bin");
    writeFileSync(file, Buffer.alloc(8));
    const m = mapFile(file, { prot: RDWR });
    try {
      const cells = slots(m);
      const script = fileURLToPath(import.meta.url);
      const args = [...process.execArgv, script, "child", file, String(additions)];
      const proc = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
      let ended;
      const exited = new Promise((resolve, reject) => {
        proc.on("error", reject);
        proc.on("exit", (code, signal) => {
          ended = code ?? signal;
          resolve(ended);
        });
      });
      // Start adding once the child is about to: then both add at the same time.
      while (Atomics.load(cells, READY) === 0) {
        if (ended !== undefined) throw new Error(`the child ended (${ended}) before it mapped the file`);
        await sleep(1);
      }
      for (let i = 0; i < additions; i++) Atomics.add(cells, COUNT, 1);
      const status = await exited;
      if (status !== 0) throw new Error(`the child ended with ${status}`);
      console.log(`parent and child each added 1 ${additions} times`);
      console.log(`count: ${Atomics.load(cells, COUNT)}`);
    } finally {
      m.unmap();
    }
    console.log(`in the file: ${readFileSync(file).readInt32LE(0)}`);
  } finally {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      // Windows before 10 1803 (and Wine 8) keeps a file mapped until the map is garbage collected.
      console.error(`could not remove ${dir}: ${error.message}`);
    }
  }
}

if (process.argv[2] === "child") {
  child(process.argv[3], Number(process.argv[4]));
} else {
  const additions = Number(process.argv[2] ?? 1_000_000);
  if (!Number.isSafeInteger(additions) || additions < 0) throw new Error(`not a count: ${process.argv[2]}`);
  await parent(additions);
}
