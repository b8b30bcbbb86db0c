#!/usr/bin/env node
/**
 * The benchmark's JavaScript contenders, run by Node or Bun: `node.mjs OP
 * key=value...`. Sets up (maps, opens, generates offsets), prints `ready` (or
 * `unavailable WHY`), then answers each `run` line on standard input with one
 * JSON line: `{ "ns": nanoseconds per operation }` or `{ "value": ... }`.
 *
 * `api=native|koffi|fallback` runs through portable-mmap's public API (the
 * built dist/index.js) with that backend forced; other values of `api` are
 * the peers: `floor` (bench/floor, the Node-API floor), `koffi-floor` (the
 * same system calls through koffi without the API), `mmap-io`, `bun`
 * (Bun.mmap), `fs` (node:fs), `memory` (a Buffer already in memory).
 */
import { createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(dirname(here));
const [op, ...pairs] = process.argv.slice(2);
const p = Object.fromEntries(
  pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
);
const size = Number(p.size ?? 0);
const now = () => process.hrtime.bigint();
const since = (start) => Number(now() - start);
const yieldNow = () => new Promise((resolve) => setImmediate(resolve));
const PAGE = 4096;

class Unavailable extends Error {}

/**
 * portable-mmap with backend `name` (forced through PORTABLE_MMAP_BACKEND), or Unavailable when it
 * cannot load. Not backendInfo(): it loads every backend, and koffi's load detaches a buffer of its
 * own, which would slow this process's typed-array loops (see the scan scenario).
 */
async function portable(name) {
  const api = await import(pathToFileURL(join(root, "dist", "index.js")).href);
  if (process.env.PORTABLE_MMAP_BACKEND !== name) throw new Unavailable(`PORTABLE_MMAP_BACKEND is not ${name}`);
  try {
    api.mapRegion(null, PAGE, api.RDWR, api.ANON); // selects the forced backend; dropped, not unmapped
  } catch (error) {
    throw new Unavailable(error.message);
  }
  return api;
}

function mmapIo() {
  if (!p.mmapio) throw new Unavailable("mmap-io is not installed");
  return createRequire(join(p.mmapio, "package.json"))("@riaskov/mmap-io");
}

function bun() {
  if (typeof globalThis.Bun?.mmap !== "function") throw new Unavailable("Bun.mmap needs Bun");
  return globalThis.Bun;
}

/** Raw koffi calls for the koffi floor: what the koffi backend does per map, without the API. */
function koffiFloor() {
  const koffi = createRequire(join(root, "package.json"))("koffi");
  if (process.platform !== "linux") throw new Unavailable("the koffi floor is written for Linux's constants");
  const lib = koffi.load("libc.so.6");
  const mmap = lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)");
  const munmap = lib.func("int munmap(void *addr, size_t length)");
  const transfer = ArrayBuffer.prototype.transfer;
  let detach;
  if (typeof transfer === "function") detach = (b) => transfer.call(b, 0);
  else {
    // Node 20: the addon's napi_detach_arraybuffer, as the koffi backend borrows it.
    const addon = createRequire(join(root, "package.json"))("node-gyp-build")(root);
    detach = (b) => addon.detach(b);
  }
  // The size check the API makes before every map (koffi's backend: statx), as the Node-API floor's fstat.
  const statx = lib.func("int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)");
  const stat = new Uint8Array(256);
  const statView = new DataView(stat.buffer);
  const [AT_EMPTY_PATH, STATX_TYPE_SIZE, STX_SIZE] = [0x1000, 0x201, 40];
  const [READ_WRITE, PRIVATE, FIXED, ANON, NORESERVE] = [3, 2, 0x10, 0x20, 0x4000];
  return (fd, length) => {
    if (
      statx(fd, "", AT_EMPTY_PATH, STATX_TYPE_SIZE, stat) !== 0 ||
      Number(statView.getBigUint64(STX_SIZE, true)) < length
    ) {
      throw new Error("statx failed or the file is too small");
    }
    const addr = mmap(null, length, READ_WRITE, PRIVATE | NORESERVE, fd, 0);
    const buffer = koffi.view(addr, length);
    const byte = new Uint8Array(buffer)[0];
    detach(buffer);
    mmap(addr, length, READ_WRITE, PRIVATE | ANON | FIXED | NORESERVE, -1, 0); // zero pages in place, as unmap() does
    munmap(addr, length);
    return byte;
  };
}

/** xorshift32 offsets in [0, limit), the same sequence as peers.c and peers.py. */
function offsets(count, limit, seed) {
  // Int32 indices where they fit: V8 indexes with them fastest.
  const out = limit < 2 ** 31 ? new Int32Array(count) : new Float64Array(count);
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % limit;
  }
  return out;
}

function countByte(a, value) {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === value) n++;
  return n;
}

function countIndexOf(b, value) {
  let n = 0;
  for (let i = b.indexOf(value); i !== -1; i = b.indexOf(value, i + 1)) n++;
  return n;
}

function rssBytes() {
  try {
    return Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * PAGE; // what the kernel says now
  } catch {
    return process.memoryUsage.rss();
  }
}

/** Each op returns the function one `run` calls; it resolves to the JSON result. */
const ops = {
  /** Map, touch one byte, unmap: `cycles` times. */
  async cycle() {
    const cycles = Number(p.cycles);
    const fd = openSync(p.file, "r");
    let sink = 0;
    let once;
    if (p.api === "floor") {
      const addon = createRequire(import.meta.url)(p.floor);
      if (addon.floorCycles(fd, 1, size) < 0) throw new Unavailable("the floor cycle failed here");
      return async () => {
        const start = now();
        for (let done = 0; done < cycles; done += 1024) {
          addon.floorCycles(fd, Math.min(1024, cycles - done), size);
          await yieldNow(); // Node runs the finalizers of the detached buffers here
        }
        return { ns: since(start) / cycles };
      };
    }
    if (p.api === "addon") {
      // The native backend's addon called directly: its bookkeeping without the API's checks and objects.
      const addon = createRequire(join(root, "package.json"))("node-gyp-build")(root);
      const WRITABLE = 2; // native/sys.h Flags
      once = () => {
        if (p.how === "sized" && addon.fileSize(fd) < size) throw new Error("file too small");
        const buffer = addon.map(fd, 0, size, WRITABLE);
        const byte = new Uint8Array(buffer)[0];
        addon.unmap(addon.scratch[0], buffer, false);
        return byte;
      };
    } else if (p.api === "koffi-floor") {
      const cycle = koffiFloor();
      once = () => cycle(fd, size);
    } else if (p.api === "mmap-io") {
      const m = mmapIo();
      once = () => m.map(size, m.PROT_READ, m.MAP_PRIVATE, fd, 0)[0]; // no unmap: the collector unmaps
    } else if (p.api === "bun") {
      const B = bun();
      once = () => B.mmap(p.file, { shared: false })[0]; // a path, mapped whole; no unmap
    } else if (p.how === "dropped") {
      const { mapRegion } = await portable(p.api);
      once = () => mapRegion(fd, size)[0]; // no unmap: the collector unmaps, as for mmap-io
    } else {
      const { mapRegion } = await portable(p.api);
      once = () => {
        const m = mapRegion(fd, size);
        const byte = m[0];
        m.unmap();
        return byte;
      };
    }
    once();
    return async () => {
      const start = now();
      for (let i = 1; i <= cycles; i++) {
        sink += once();
        // Let the event loop run now and then, as a program would: Node runs
        // the finalizers of detached buffers there, and that is part of the cost.
        if ((i & 1023) === 0) await yieldNow();
      }
      await yieldNow();
      if (sink < 0) console.error(sink);
      return { ns: since(start) / cycles };
    };
  },

  /** `reads` reads of 8 bytes at xorshift32 offsets of a page-cached file. */
  async random() {
    const reads = Number(p.reads);
    const at = offsets(reads, size - 8, Number(p.seed));
    const fd = openSync(p.file, "r");
    let bytes;
    let read;
    if (p.api === "fs") {
      const b = Buffer.alloc(8);
      read = () => {
        let acc = 0;
        for (let i = 0; i < reads; i++) {
          readSync(fd, b, 0, 8, at[i]);
          acc ^= b.readUInt32LE(0) ^ b.readUInt32LE(4);
        }
        return acc;
      };
    } else {
      if (p.api === "mmap-io") {
        const m = mmapIo();
        bytes = m.map(size, m.PROT_READ, m.MAP_SHARED, fd, 0);
      } else if (p.api === "bun") bytes = bun().mmap(p.file, { shared: false });
      else bytes = (await portable(p.api)).mapRegion(fd, size);
      if (p.how === "bigint") {
        const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        read = () => {
          let acc = 0n;
          for (let i = 0; i < reads; i++) acc ^= b.readBigUInt64LE(at[i]);
          return Number(acc & 0xffn);
        };
      } else if (p.how === "dataview") {
        const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        read = () => {
          let acc = 0;
          for (let i = 0; i < reads; i++) {
            const o = at[i];
            acc ^= d.getUint32(o, true) ^ d.getUint32(o + 4, true);
          }
          return acc;
        };
      } else {
        const u = bytes;
        read = () => {
          let acc = 0;
          for (let i = 0; i < reads; i++) {
            const o = at[i];
            acc ^=
              (u[o] | (u[o + 1] << 8) | (u[o + 2] << 16) | (u[o + 3] << 24)) ^
              (u[o + 4] | (u[o + 5] << 8) | (u[o + 6] << 16) | (u[o + 7] << 24));
          }
          return acc;
        };
      }
    }
    read(); // every page faulted in once, as for the other contenders
    return async () => {
      const start = now();
      const acc = read();
      const ns = since(start) / reads;
      return { ns, check: acc & 1 };
    };
  },

  /** Count one byte value over the whole file, including the time to map (or read) it. */
  async scan() {
    const value = Number(p.value);
    const fd = openSync(p.file, "r");
    let once;
    if (p.api === "fs" && p.how === "readfile") once = () => countByte(readFileSync(p.file), value);
    else if (p.api === "fs" && p.how === "stream") {
      once = () =>
        new Promise((resolve, reject) => {
          let n = 0;
          createReadStream(p.file, { highWaterMark: 2 ** 20 })
            .on("data", (chunk) => {
              n += countByte(chunk, value);
            })
            .on("end", () => resolve(n))
            .on("error", reject);
        });
    } else if (p.api === "memory") {
      const data = readFileSync(p.file);
      if (p.how === "after-unmap") {
        // One map made and unmapped first, as in the process of every contender that unmaps: from the
        // first detached buffer on, V8's optimized loops over any typed array check for detachment.
        const api = await portable(p.backend);
        api.mapRegion(null, PAGE, api.RDWR, api.ANON).unmap();
      }
      once = () => countByte(data, value);
    } else if (p.api === "bun") {
      const B = bun();
      once = () => countByte(B.mmap(p.file, { shared: false }), value);
    } else {
      const api = await portable(p.api);
      let flags = 0;
      if (p.how === "populate" || p.how === "populate-dropped") {
        if (api.POPULATE === undefined) throw new Unavailable("this build has no POPULATE flag");
        flags = api.POPULATE;
      }
      // populate-dropped never unmaps (the collector does), so nothing in this process is ever detached.
      const unmaps = p.how !== "populate-dropped";
      once = () => {
        const m = api.mapRegion(fd, size, api.RDONLY, flags);
        if (p.how === "sequential") m.advise("sequential");
        const n = p.how === "indexof" ? countIndexOf(m.asBuffer(), value) : countByte(m, value);
        if (unmaps) m.unmap();
        return n;
      };
    }
    const expected = await once();
    return async () => {
      const start = now();
      const n = await once();
      const ns = since(start);
      if (n !== expected) throw new Error(`counted ${n}, before ${expected}`);
      return { ns, count: n };
    };
  },

  /** Map the whole file and read one byte of every page once; the time from map to the last page. */
  async touch() {
    const fd = openSync(p.file, "r");
    const api = await portable(p.api);
    let flags = 0;
    if (p.how === "populate") {
      if (api.POPULATE === undefined) throw new Unavailable("this build has no POPULATE flag");
      flags = api.POPULATE;
    }
    return async () => {
      const start = now();
      const m = api.mapRegion(fd, size, api.RDONLY, flags);
      if (p.how === "willneed") m.advise("willneed");
      let sink = 0;
      for (let i = 0; i < size; i += PAGE) sink += m[i];
      const ns = since(start);
      m.unmap();
      return { ns, pages: size / PAGE, sink };
    };
  },

  /** Dirty one page of a RDWR map of the whole file, then flush that page (`how=range`) or the map (`how=whole`). */
  async flush() {
    if (p.api === "compare") {
      // The baseline the fallback's write-back is held to: Buffer.compare over the same bytes.
      const a = readFileSync(p.file);
      const b = Buffer.from(a);
      return async () => {
        const start = now();
        const same = a.compare(b);
        return { ns: since(start), same };
      };
    }
    const api = await portable(p.api);
    const fd = openSync(p.file, "r+");
    const m = api.mapRegion(fd, size, api.RDWR);
    const pages = size / PAGE;
    let round = 0;
    return async () => {
      const page = (round++ * 7919) % pages;
      m[page * PAGE] = (m[page * PAGE] + 1) & 0xff;
      const start = now();
      if (p.how === "range") m.flush({ offset: page * PAGE, length: PAGE });
      else m.flush();
      return { ns: since(start) };
    };
  },

  /** RSS growth from mapping a sparse file and reading one byte of it. */
  async memory() {
    const api = await portable(p.api);
    const fd = openSync(p.file, "r");
    const length = fstatSync(fd).size;
    const once = () => {
      const before = rssBytes();
      const start = now();
      const m = api.mapRegion(fd, length);
      const byte = m[Math.floor(length / 2)];
      const ns = since(start);
      const grown = rssBytes() - before;
      m.unmap();
      return { value: grown, ns, byte };
    };
    if (p.api === "fallback") {
      // A probe would read the whole region: check the runtime's largest buffer instead.
      const max = globalThis.Buffer?.constants?.MAX_LENGTH ?? 2 ** 32;
      if (length > max) throw new Unavailable(`larger than this runtime's largest buffer (${max} bytes)`);
      return async () => once();
    }
    try {
      once();
    } catch (error) {
      if (error instanceof RangeError) throw new Unavailable(error.message); // larger than this runtime's buffers
      throw error;
    }
    return async () => once();
  },

  /** Two processes add 1 to the same Int32 of a shared map, `adds` times each. */
  async counter() {
    const adds = Number(p.adds);
    const api = await portable(p.api);
    const fd = openSync(p.file, "r+");
    const m = api.mapRegion(fd, PAGE, api.RDWR);
    const counter = new Int32Array(m.buffer, m.byteOffset, 1);
    return async () => {
      const start = now();
      for (let i = 0; i < adds; i++) Atomics.add(counter, 0, 1);
      return { ns: since(start) / adds };
    };
  },
};

async function main() {
  const make = ops[op];
  if (!make) throw new Error(`unknown op ${op}`);
  let run;
  try {
    run = await make();
  } catch (error) {
    if (error instanceof Unavailable) {
      process.stdout.write(`unavailable ${error.message.replace(/\s+/g, " ").trim()}\n`);
      return;
    }
    throw error;
  }
  process.stdout.write("ready\n");
  for await (const _ of createInterface({ input: process.stdin })) {
    try {
      process.stdout.write(`${JSON.stringify(await run())}\n`);
    } catch (error) {
      process.stdout.write(`error ${String(error?.message ?? error).replace(/\s+/g, " ")}\n`);
    }
  }
}

main().catch((error) => {
  process.stdout.write(`error ${String(error?.stack ?? error).replace(/\s+/g, " ")}\n`);
  process.exitCode = 1;
});
