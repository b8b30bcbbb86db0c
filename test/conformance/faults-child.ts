/**
 * The child side of faults.test.ts: maps under a full file system or low
 * resource limits, started confined (confine.ts). Each scenario returns
 * what it saw; one that may end the process (SIGBUS, SIGXFSZ) first prints
 * `{"reached": ...}`, so that the parent knows where it died.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ANON, backendInfo, EXEC, type MMap, map, mapFile, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { applyLateLimits, softLimit } from "./late-limits.js";

type Result = Record<string, unknown>;

/** "ok", or what the call threw: its code, errno, syscall and (ERR_MMAP_FAULT) fileOffset. */
function attempt(call: () => unknown): "ok" | Result {
  try {
    call();
    return "ok";
  } catch (error) {
    const { code, errno, syscall, fileOffset } = error as Result;
    return { code: code ?? (error as Error).message, errno, syscall, fileOffset };
  }
}

/** Tells the parent how far the process got, in case it dies next. */
function reached(step: string): void {
  console.log(JSON.stringify({ reached: step }));
}

/** Fills the file system of `dir` with a file of zeros until a write fails; returns that error's code. */
function fill(dir: string): unknown {
  const fd = fs.openSync(path.join(dir, "filler"), "w");
  const zeros = Buffer.alloc(4096);
  try {
    for (;;) fs.writeSync(fd, zeros);
  } catch (error) {
    return (error as Result).code;
  } finally {
    fs.closeSync(fd);
  }
}

/** Lines of /proc/self/maps that map a file under `dir`. */
function mapsUnder(dir: string): number {
  return fs
    .readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((line) => line.includes(dir)).length;
}

/** The selected backend's live mappings, where it counts them. */
function liveMaps(): number {
  const info = backendInfo();
  return info.backends.find((b) => b.name === info.selected)?.mappings?.live ?? 0;
}

function openDescriptors(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** Opens /dev/null until EMFILE; returns the descriptors to close. */
function exhaustDescriptors(): number[] {
  const fds: number[] = [];
  try {
    for (;;) fds.push(fs.openSync("/dev/null", "r"));
  } catch (error) {
    if ((error as Result).code !== "EMFILE") throw error;
  }
  return fds;
}

/** A file's whole contents, read through an open descriptor (no new descriptor needed). */
function readWhole(fd: number): Buffer {
  const bytes = Buffer.alloc(fs.fstatSync(fd).size);
  let done = 0;
  while (done < bytes.length) {
    const n = fs.readSync(fd, bytes, done, bytes.length - done, done);
    if (n === 0) break;
    done += n;
  }
  return bytes.subarray(0, done);
}

/** What each of the process's descriptors is, except /dev/null (Linux). */
function describeDescriptors(): string[] {
  return fs
    .readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return `${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`;
      } catch {
        return `${fd}`;
      }
    })
    .filter((line) => !line.endsWith("/dev/null"));
}

/** One byte of a file, read with node:fs. */
function byteAt(file: string, position: number): number | undefined {
  const byte = Buffer.alloc(1);
  const fd = fs.openSync(file, "r");
  try {
    return fs.readSync(fd, byte, 0, 1, position) === 1 ? byte[0] : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The size of a file, or false where it does not exist. */
function sizeOf(file: string): number | false {
  return fs.existsSync(file) && fs.statSync(file).size;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** mapFile with grow, of an existing and of a missing file, keeping nothing it maps. */
function growBoth(
  oldFile: string,
  newFile: string,
  options: { prot: number; length: number },
  read: () => Buffer = () => fs.readFileSync(oldFile),
): Result {
  const grow = (file: string) => attempt(() => mapFile(file, { ...options, grow: true }).unmap());
  const before = read();
  reached("grow an existing file");
  const existing = grow(oldFile);
  const after = read();
  reached("grow a new file");
  const created = grow(newFile);
  return {
    existing,
    size: after.length,
    intact: after.subarray(0, before.length).equals(before),
    created,
    exists: sizeOf(newFile),
  };
}

const scenarios: Record<string, (where: string) => Result> = {
  /** Grows past the free space: an existing file and a missing one; nothing may be left mapped or open. */
  "grow-enospc"(dir) {
    const old = path.join(dir, "old.bin");
    fs.writeFileSync(old, Buffer.alloc(5000, 0x41));
    const fds = openDescriptors();
    const live = liveMaps();
    const result = growBoth(old, path.join(dir, "new.bin"), { prot: RDWR, length: MiB });
    return { ...result, maps: mapsUnder(dir), live: liveMaps() - live, fds: openDescriptors() - fds };
  },

  /** Grows within the free space, fills the disk, then writes every page through the map. */
  "grow-reserves"(dir) {
    const file = path.join(dir, "grown.bin");
    const m = mapFile(file, { prot: RDWR, length: 64 * KiB, grow: true });
    const allocated = fs.statSync(file).blocks * 512;
    const filled = fill(dir);
    reached("write");
    m.fill(0x77);
    const flush = attempt(() => m.flush());
    const unmap = attempt(() => m.unmap());
    const bytes = fs.readFileSync(file);
    return { allocated, filled, flush, unmap, size: bytes.length, written: bytes.every((b) => b === 0x77) };
  },

  /** A sparse file larger than its file system, mapped without grow; the disk is full; a write lands in a hole. */
  "sparse-write"(dir) {
    const file = path.join(dir, "sparse.bin");
    const at = 3 * 64 * KiB + 17;
    const fd = fs.openSync(file, "w+");
    fs.ftruncateSync(fd, 4 * MiB);
    fs.closeSync(fd);
    const filled = fill(dir);
    const m = mapFile(file, { prot: RDWR });
    reached("write");
    m[at] = 0x5a;
    const result: Result = { at, filled, readBack: m[at], neighbour: m[at + 1] };
    result.flush = attempt(() => m.flush());
    result.again = attempt(() => m.flush()); // what could not be written is never reported written
    result.unmap = attempt(() => m.unmap());
    result.unmapped = m.unmapped;
    if (!m.unmapped) {
      fs.unlinkSync(path.join(dir, "filler")); // room again: now the map can write back
      result.afterFree = attempt(() => m.flush());
      result.unmapAfterFree = attempt(() => m.unmap());
    }
    result.fileByte = byteAt(file, at);
    return result;
  },

  /** lock() of a map within RLIMIT_MEMLOCK, then of one past it; the big map must stay usable. */
  memlock(file) {
    const vmLck = () => Number(/VmLck:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1]);
    const small = mapRegion(null, 16 * KiB, RDWR, ANON);
    const result: Result = { small: attempt(() => small.lock()), smallLockedKiB: vmLck() };
    small.unmap();
    const m = mapFile(file, { prot: RDWR });
    result.lock = attempt(() => m.lock());
    result.lockedKiB = vmLck();
    m[5] = 0x5a;
    result.flush = attempt(() => m.flush());
    result.unlock = attempt(() => m.unlock());
    result.unmap = attempt(() => m.unmap());
    result.byte = byteAt(file, 5);
    return result;
  },

  /** Every descriptor in use: mapFile, map of an open descriptor; then no descriptor may be left over. */
  nofile(file) {
    const fd = fs.openSync(file, "r+");
    const before = openDescriptors();
    const extra = exhaustDescriptors();
    const created = `${file}.new`;
    const result: Result = {
      exhausted: extra.length > 0,
      mapFile: attempt(() => mapFile(file, { prot: RDWR }).unmap()),
      grow: attempt(() => mapFile(created, { prot: RDWR, length: 100, grow: true }).unmap()),
      exists: fs.existsSync(created),
    };
    for (const [name, prot] of [
      ["rdwr", RDWR],
      ["rdonly", RDONLY],
    ] as const) {
      result[name] = attempt(() => {
        const m = map(fd, prot);
        m[1] = 3;
        m.unmap();
      });
    }
    for (const descriptor of extra) fs.closeSync(descriptor);
    result.leaked = openDescriptors() - before;
    fs.closeSync(fd);
    return result;
  },

  /** Grows past RLIMIT_FSIZE (the runtime may die by SIGXFSZ). */
  "fsize-grow"(file) {
    return growBoth(file, `${file}.new`, { prot: RDWR, length: MiB });
  },

  /** Writes through a map into a page past RLIMIT_FSIZE of a file that is already that long. */
  "fsize-map"(file) {
    const at = 512 * KiB + 3;
    const m: MMap = mapFile(file, { prot: RDWR });
    m[at] = 0x5a;
    reached("flush");
    const result: Result = { limit: softLimit("fsize") };
    result.flush = attempt(() => m.flush());
    result.again = attempt(() => m.flush());
    result.unmap = attempt(() => m.unmap());
    result.unmapped = m.unmapped;
    result.fileByte = byteAt(file, at);
    return result;
  },

  /** An EXEC map where the file system is mounted noexec: grown first, then refused by mmap. */
  "grow-exec"(dir) {
    const old = path.join(dir, "old.bin");
    fs.writeFileSync(old, Buffer.alloc(5000, 0x41));
    return growBoth(old, path.join(dir, "new.bin"), { prot: RDWR | EXEC, length: MiB });
  },

  /** One descriptor left: mapFile's open takes it; a backend that needs another one for the map fails after growing. */
  "grow-last-fd"(file) {
    // The scenario's own reads go through a descriptor opened beforehand: only mapFile needs the last one.
    const reader = fs.openSync(file, "r");
    const extra = exhaustDescriptors();
    fs.closeSync(extra.pop() as number);
    try {
      const result = growBoth(file, `${file}.new`, { prot: RDWR, length: MiB }, () => readWhole(reader));
      // Not even mapFile's open got the last descriptor: something else in the process took it
      // (CI saw an EMFILE here once). Say what holds the descriptors, for the assertion's diff.
      const opened = (r: unknown) => (r as Result).syscall === "open";
      if (opened(result.existing) || opened(result.created)) {
        for (const descriptor of extra.splice(0)) fs.closeSync(descriptor);
        result.descriptors = describeDescriptors();
      }
      return result;
    } finally {
      for (const descriptor of extra) fs.closeSync(descriptor);
      fs.closeSync(reader);
    }
  },
};

/** Runs one scenario on `where` (a directory on the child's own file system, or a file). */
export function faults(scenario: string, where: string): Result {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  // Before the scenario counts descriptors or uses them up: the backend is loaded, and stdout is
  // open (the first write to a pipe opens descriptors of its own on Node).
  mapRegion(null, 4096, RDWR, ANON).unmap();
  reached("start");
  const restore = applyLateLimits();
  const result = run(where);
  restore();
  return result;
}
