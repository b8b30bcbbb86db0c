/**
 * Hostile but ordinary JavaScript against a map, run in a child process (a
 * crash ends the child, not the suite): the map's memory moved to another
 * buffer, unmap() while work on the thread pool still uses it, a range whose
 * getter unmaps, a tight loop of maps. Each scenario returns what it saw.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";
import * as zlib from "node:zlib";
import { ANON, backendInfo, MMap, mapFile, mapRegion, RDWR } from "portable-mmap";
import { byobRead } from "./byob.js";
import { collectGarbage, forceGc } from "./gc.js";
import type { HoldMaps, PostMoved } from "./worker-tasks.js";

type Result = Record<string, unknown>;

const transferable = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === "function";

function transfer(buffer: ArrayBuffer, length?: number): ArrayBuffer {
  return (buffer as ArrayBuffer & { transfer(length?: number): ArrayBuffer }).transfer(length);
}

/** The error's string code (ERR_..., EBUSY), else its name (a DOMException's code is a number). */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : (error as Error).name;
}

/** unmap(), reporting its error code instead of throwing (the fallback reports changes it lost). */
function tryUnmap(m: MMap): string | undefined {
  try {
    m.unmap();
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

/** unmap(), or, where the runtime pins the buffer while native code uses it (EBUSY), unmap() after `settled`. */
async function unmapDuring(m: MMap, settled: Promise<unknown>): Promise<Result> {
  try {
    m.unmap();
    return { busy: false, outcome: await settled };
  } catch (error) {
    if (codeOf(error) !== "EBUSY") throw error;
    const mapped = m.length;
    const outcome = await settled;
    m.unmap();
    return { busy: true, mappedWhileBusy: mapped, outcome };
  }
}

/** Moves the map's memory with `move`, then writes through the new view and reads the file. */
async function moveOut(file: string, move: (buffer: ArrayBuffer) => Promise<ArrayBuffer>): Promise<Result> {
  const m = mapFile(file, { prot: RDWR });
  let moved: Uint8Array;
  try {
    moved = new Uint8Array(await move(m.buffer));
  } catch (error) {
    return { refused: codeOf(error), unmapError: tryUnmap(m) };
  }
  const detached = m.length === 0;
  moved[0] = 0x99;
  // The same memory (the file's pages) or a copy?
  const shared = fs.readFileSync(file)[0] === 0x99;
  const unmapError = tryUnmap(m);
  const after = moved[0];
  moved[1] = 0x98;
  return { detached, shared, unmapped: m.unmapped, unmapError, after, file1: fs.readFileSync(file)[1] };
}

/** Mappings: all of them (lines of /proc/self/maps), those of `file`, the virtual size in KiB, and the backend's counts. */
function mappings(file: string): Result {
  const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n");
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const info = backendInfo();
  const counts = info.backends.find((b) => b.name === info.selected)?.mappings;
  return {
    lines: maps.length - 1,
    ofFile: maps.filter((line) => line.endsWith(file)).length,
    vmKiB: Number(/VmSize:\s+(\d+)/.exec(status)?.[1]),
    live: counts?.live ?? 0,
    retired: counts?.retired ?? 0,
  };
}

const scenarios: Record<string, (file: string, other: string) => Promise<Result>> = {
  /** 100,000 map/touch/unmap cycles with no await: mappings must not pile up inside the loop. */
  async "tight-loop"(file) {
    const cycles = Number(process.env.PORTABLE_MMAP_TIGHT_CYCLES ?? 100_000);
    const fd = fs.openSync(file, "r");
    const base = mappings(file);
    const max: Record<string, number> = {};
    let sum = 0;
    for (let i = 1; i <= cycles; i++) {
      const m = mapRegion(fd, 4096);
      sum += m[0] as number;
      m.unmap();
      if (i % 1000 === 0) {
        for (const [key, value] of Object.entries(mappings(file))) max[key] = Math.max(max[key] ?? 0, value as number);
      }
    }
    fs.closeSync(fd);
    await collectGarbage();
    return { cycles, sum, base, max, after: mappings(file) };
  },

  /** unmap(), then truncate and delete the file: at once, or (without placeholders on Windows) once collected. */
  async "truncate-after-unmap"(file) {
    // In a function of its own, so that nothing holds the map once it returns.
    (() => {
      const m = mapFile(file, { prot: RDWR });
      m[0] = 1;
      m.unmap();
    })();
    const attempt = (): string => {
      try {
        fs.truncateSync(file, 10);
        return "ok";
      } catch (error) {
        return codeOf(error);
      }
    };
    const atOnce = attempt();
    await collectGarbage();
    const afterCollection = attempt();
    try {
      fs.unlinkSync(file);
    } catch (error) {
      return { atOnce, afterCollection, unlink: codeOf(error) };
    }
    return { atOnce, afterCollection, exists: fs.existsSync(file) };
  },

  /** The file shrinks under a map (as log rotation does); then the map is read, written, flushed and unmapped. */
  async "truncate-under-map"(file) {
    const page = 64 * 1024; // a multiple of every page size
    const m = mapFile(file, { prot: RDWR, length: 4 * page });
    m[3 * page + 4] = 0x11;
    try {
      fs.truncateSync(file, page);
    } catch (error) {
      m.unmap();
      return { truncate: codeOf(error) }; // Windows refuses to truncate a mapped file
    }
    const read = m[3 * page + 5];
    m[3 * page + 6] = 7;
    const result: Result = { read, still: m[6], length: m.length };
    for (const [name, call] of [
      ["flush", () => m.flush()],
      ["lock", () => m.lock()],
    ] as const) {
      try {
        call();
        result[name] = "ok";
      } catch (error) {
        result[name] = codeOf(error);
        result.fileOffset = (error as { fileOffset?: number }).fileOffset;
      }
    }
    result.unmapError = tryUnmap(m);
    result.unmapped = m.unmapped;
    result.size = fs.statSync(file).size;
    return result;
  },

  /**
   * Live maps up to the limit (PORTABLE_MMAP_MAX_MAPS in the environment), one
   * more; at the limit a file map and an ANON map are resized (each replaces a
   * live map, so the limit lets it through) and a new map is still refused;
   * then unmap one and map again.
   */
  async "map-limit"(file) {
    const limit = Number(process.env.PORTABLE_MMAP_MAX_MAPS);
    const fd = fs.openSync(file, "r");
    const maps: MMap[] = [mapFile(file, { keepOpen: true }), mapRegion(null, 4096, RDWR, ANON)];
    let refused: Result | undefined;
    for (let i = maps.length; i <= limit + 5 && !refused; i++) {
      try {
        maps.push(mapRegion(fd, 4096));
      } catch (error) {
        const e = error as Error & { errno?: number; syscall?: string };
        refused = { at: i, code: codeOf(error), syscall: e.syscall, advice: /unmap\(\)/.test(e.message) };
      }
    }
    maps[0] = (maps[0] as MMap).resize(2048);
    maps[1] = (maps[1] as MMap).resize(8192);
    const resized = maps.slice(0, 2).map((m) => m.length);
    let stillRefused: string | null = null;
    try {
      maps.push(mapRegion(fd, 4096));
    } catch (error) {
      stillRefused = codeOf(error);
    }
    maps.pop()?.unmap();
    const again = mapRegion(fd, 4096);
    again.unmap();
    for (const m of maps) m.unmap();
    fs.closeSync(fd);
    return { refused: refused ?? null, resized, stillRefused, againLength: 4096 };
  },

  /**
   * Rounds of 400 maps dropped without unmap(), a synchronous collection, and
   * 400 map/unmap cycles, with no await: where the runtime finalizes on other
   * threads (Deno) those finalizers race the maps made meanwhile. Then, once
   * the program yields, the backend's live maps are back to none. koffi lets
   * go only once the program yields (FinalizationRegistry), and Wine without
   * placeholders keeps unmapped views until then, each two Linux mappings:
   * 25 rounds stay under Linux's default vm.max_map_count (65,530) there.
   */
  async "dropped-rounds"(file) {
    const gc = forceGc();
    if (!gc) throw new Error("run with --expose-gc");
    const fd = fs.openSync(file, "r");
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < 400; i++) mapRegion(fd, 4096); // dropped at once
      gc();
      for (let i = 0; i < 400; i++) mapRegion(fd, 4096).unmap();
    }
    await collectGarbage();
    fs.closeSync(fd);
    return { after: counts() };
  },

  /** The memory moves (BYOB read), the moved buffer is collected, then unmap(): what the backend still holds. */
  async "moved-collected"(file) {
    const before = counts();
    const m = mapFile(file, { prot: RDWR });
    {
      const stream = new ReadableStream({ type: "bytes", pull: (c) => c.byobRequest?.respond(1) });
      await stream.getReader({ mode: "byob" }).read(m.subarray(0, 4096));
    }
    await collectGarbage();
    const unmapError = tryUnmap(m);
    await collectGarbage();
    return { before, after: counts(), unmapError };
  },

  /** 30 live maps here, then a worker maps up to 40 more: the limit (PORTABLE_MMAP_MAX_MAPS) is the process's. */
  async "map-limit-threads"(file) {
    const fd = fs.openSync(file, "r");
    const maps = Array.from({ length: 30 }, () => mapRegion(fd, 4096));
    const task: HoldMaps = { task: "hold-maps", file, count: 40 };
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: task });
    const failed = new Promise<never>((_, reject) => worker.once("error", reject));
    // Listened for before the message is awaited: the worker may have exited by the time it is read.
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    const report = await Promise.race([new Promise((resolve) => worker.once("message", resolve)), failed]);
    await Promise.race([exited, failed]);
    for (const m of maps) m.unmap();
    fs.closeSync(fd);
    return { worker: report };
  },

  /** A BYOB stream read moves the buffer of the view it is given (the whole map's buffer). */
  byob: (file) => byob(file, false),
  /** The same with the map itself as the view: the stream builds its result with the view's constructor. */
  "byob-whole": (file) => byob(file, true),
};

/** A BYOB read into the map (`whole`) or a view of its first page; then what the map, the moved view and the file say. */
async function byob(file: string, whole: boolean): Promise<Result> {
  {
    const m = mapFile(file, { prot: RDWR });
    const value = await byobRead(whole ? m : m.subarray(0, 4096));
    const moved = new Uint8Array(value.buffer);
    const result: Result = { valueLength: value.length, mapLength: m.length, movedLength: moved.length };
    result.valueType = `${value.constructor.name}${value instanceof MMap ? " (an MMap)" : ""}`;
    for (const [name, call] of [
      ["flush", () => m.flush()],
      ["asBuffer", () => m.asBuffer()],
      ["lock", () => m.lock()],
    ] as const) {
      try {
        call();
        result[name] = "ok";
      } catch (error) {
        result[name] = codeOf(error);
      }
    }
    result.unmapError = tryUnmap(m);
    result.unmapped = m.unmapped;
    result.after = [moved[0], moved[1]];
    moved[5] = 9;
    result.file = [...fs.readFileSync(file).subarray(0, 6)];
    return result;
  }
}

const moreScenarios: Record<string, (file: string, other: string) => Promise<Result>> = {
  async transfer(file) {
    if (!transferable) return { unsupported: true };
    return moveOut(file, async (buffer) => transfer(buffer));
  },

  async clone(file) {
    return moveOut(file, async (buffer) => structuredClone(buffer, { transfer: [buffer] }));
  },

  async port(file) {
    return moveOut(file, async (buffer) => {
      const { port1, port2 } = new MessageChannel();
      try {
        // addEventListener, not Node's `once`: the same code runs on Bun and Deno.
        const received = new Promise<ArrayBuffer>((resolve) => {
          (port2 as unknown as EventTarget).addEventListener(
            "message",
            (event) => resolve((event as MessageEvent).data as ArrayBuffer),
            { once: true },
          );
          (port2 as unknown as { start?: () => void }).start?.();
        });
        port1.postMessage(buffer, [buffer]);
        return await received;
      } finally {
        port1.close();
        port2.close();
      }
    });
  },

  /** The memory moved, the map dropped and collected: the moved buffer must keep working. */
  async "transfer-drop"(file) {
    if (!transferable) return { unsupported: true };
    let moved: Uint8Array | undefined = (() => new Uint8Array(transfer(mapFile(file, { prot: RDWR }).buffer)))();
    await collectGarbage();
    const before = moved[0];
    moved[1] = 0x33;
    moved = undefined;
    await collectGarbage();
    return { before, file1: fs.readFileSync(file)[1] };
  },

  /** transfer(0) frees the memory's owner while the map still holds its handle; unmap() must touch nothing else. */
  async "transfer-zero"(file, other) {
    if (!transferable) return { unsupported: true };
    const m = mapFile(file, { prot: RDWR });
    transfer(m.buffer, 0);
    await collectGarbage();
    const next = mapFile(other, { prot: RDWR });
    const unmapError = tryUnmap(m);
    const result = { unmapped: m.unmapped, unmapError, next0: next[0], nextLength: next.length };
    next[1] = 0x44;
    next.unmap();
    return { ...result, other1: fs.readFileSync(other)[1] };
  },

  /** The thread pool fills the memory while unmap() runs. */
  async randomfill() {
    const m = mapRegion(null, 32 << 20, RDWR, ANON);
    const settled = new Promise((resolve) => crypto.randomFill(m, (error) => resolve(error ? codeOf(error) : "ok")));
    const result = await unmapDuring(m, settled);
    return { ...result, length: m.length };
  },

  /** The same while a flushAsync is pending: unmap() then waits for the flush, and randomFill outlives both. */
  async "randomfill-flushing"(file) {
    fs.truncateSync(file, 64 << 20);
    const m = mapFile(file, { prot: RDWR });
    m[0] = 1;
    const flushed = m.flushAsync({ offset: 0, length: 4096 }).then(
      () => "ok",
      (error) => codeOf(error),
    );
    const settled = new Promise((resolve) => crypto.randomFill(m, (error) => resolve(error ? codeOf(error) : "ok")));
    const result = await unmapDuring(m, settled);
    return { ...result, flushed: await flushed, length: m.length };
  },

  /**
   * A worker moves its map's memory into another buffer and posts it here;
   * the worker ends (`natural`) or is terminated (`terminate`, the scenario's
   * name suffix); then this thread reads and writes the buffer it was given.
   */
  async "post-moved"(file) {
    return postMoved(file, "natural");
  },
  async "post-moved-terminate"(file) {
    return postMoved(file, "terminate");
  },

  /** zlib reads the map on the thread pool; compressible input, so it reads it in one go. */
  async "zlib-once"(file) {
    const m = mapFile(file, { prot: RDWR });
    const settled = new Promise((resolve) =>
      zlib.deflate(m, (error, out) => resolve(error ? codeOf(error) : out.length > 0)),
    );
    return unmapDuring(m, settled);
  },

  /** fs.read writes into the map on the thread pool. */
  async fsread(file, other) {
    const m = mapFile(file, { prot: RDWR });
    const fd = fs.openSync(other, "r");
    const settled = new Promise((resolve) =>
      fs.read(fd, m, 0, m.length, 0, (error, n) => resolve(error ? codeOf(error) : n)),
    );
    const result = await unmapDuring(m, settled);
    fs.closeSync(fd);
    return result;
  },

  /** A range whose getter unmaps: the values are read once, then the map is checked. */
  async "getter-unmap"(file) {
    const m = mapFile(file, { prot: RDWR });
    const range = {
      offset: 0,
      get length() {
        m.unmap();
        return 10;
      },
    };
    const results: string[] = [];
    for (const call of [() => m.flushAsync(range), async () => m.flush(range), async () => m.advise("normal", range)]) {
      try {
        await call();
        results.push("ok");
      } catch (error) {
        results.push(codeOf(error));
      }
    }
    return { results };
  },

  /** A range whose getter moves the memory away. */
  async "getter-transfer"(file) {
    if (!transferable) return { unsupported: true };
    const m = mapFile(file, { prot: RDWR });
    let moved: ArrayBuffer | undefined;
    try {
      await m.flushAsync({
        get offset() {
          moved = transfer(m.buffer);
          return 0;
        },
      });
      return { code: "ok" };
    } catch (error) {
      const unmapError = tryUnmap(m);
      return { code: codeOf(error), unmapError, movedLength: moved?.byteLength };
    }
  },
};

async function postMoved(file: string, end: PostMoved["end"]): Promise<Result> {
  const task: PostMoved = { task: "post-moved", file, end };
  const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: task });
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  const failed = new Promise<never>((_, reject) => worker.once("error", reject));
  const message = (await Promise.race([new Promise((resolve) => worker.once("message", resolve)), failed])) as {
    moved: ArrayBuffer;
    backend: string;
  };
  const bytes = new Uint8Array(message.moved);
  const before = bytes[0];
  if (end === "terminate") await worker.terminate();
  else worker.postMessage("end");
  await Promise.race([exited, failed]);
  await collectGarbage();
  const after = bytes[0];
  bytes[1] = 0x55;
  return { backend: message.backend, length: bytes.length, before, after, file1: fs.readFileSync(file)[1] };
}

/** The selected backend's { live, retired } mappings, where it counts them. */
function counts(): unknown {
  const info = backendInfo();
  return info.backends.find((b) => b.name === info.selected)?.mappings ?? null;
}

/** Runs one scenario; `other` is a second file some scenarios need. */
export function hostile(scenario: string, file: string, other: string): Promise<Result> {
  const run = scenarios[scenario] ?? moreScenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  return run(file, other);
}
