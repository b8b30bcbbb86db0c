/**
 * Named shared memory (`openSharedMemory`, `unlinkSharedMemory`): other
 * processes and worker threads see the same bytes, Atomics count exactly
 * across them, the lifetime rules of each system (POSIX: until unlinked;
 * Windows: while a process maps it), the errors, and no leak over 10,000
 * cycles. The fallback cannot share memory: it refuses with a coded error
 * (capability `sharesMemoryByName`), which is asserted here too.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";
import {
  backendInfo,
  COPY,
  ErrorCodes,
  EXEC,
  MmapSystemError,
  openSharedMemory,
  pageSize,
  RDONLY,
  RDWR,
  unlinkSharedMemory,
} from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, builtScript, caps, runChild, throwsCode } from "./helpers.js";
import { SLOT } from "./shared-memory-tasks.js";
import { startChild } from "./spawn.js";
import type { SharedAdd } from "./worker-tasks.js";

/** `MmapSystemError` as `throwsCode` takes a class. */
const SystemError = MmapSystemError as unknown as ErrorConstructor;
const windows = process.platform === "win32";
const linux = process.platform === "linux";
/** macOS maps segments only shared, sets a segment's size once, and rounds it up to the page size. */
const mac = process.platform === "darwin";
const shares = caps.sharesMemoryByName;
const noSharing = shares ? undefined : `the ${backendName} backend cannot share memory (sharesMemoryByName: false)`;

let serial = 0;
/** A name no other run uses (macOS allows 30 bytes: this stays under 24). */
function uniqueName(): string {
  return `/pmm-${process.pid}-${Math.random().toString(36).slice(2, 8)}-${serial++}`;
}

/** Removes the name if it is still there (POSIX); a no-op where nothing can share. */
function cleanUp(name: string): void {
  if (!shares) return;
  try {
    unlinkSharedMemory(name);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
}

/** Runs `body` with a new name, removed afterwards whatever happens. */
async function withName<T>(body: (name: string) => T | Promise<T>): Promise<T> {
  const name = uniqueName();
  try {
    return await body(name);
  } finally {
    cleanUp(name);
  }
}

/** The last JSON line a child printed. */
function lastLine(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

/** Runs child.js with `args` and returns its JSON, asserting it ended well. */
function child(args: string[]): Record<string, unknown> {
  const result = runChild(args);
  assert.equal(result.signal, null, `the child died by ${result.signal}: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  return lastLine(result.stdout);
}

const liveMaps = (): number => backendInfo().backends.find((b) => b.name === backendName)?.mappings?.live ?? 0;
/** How many of this process's descriptors are open on a segment whose name starts with `base` (Linux). */
function descriptorsOf(base: string): number {
  let count = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`/dev/shm${base}`)) count++;
    } catch {
      // The directory's own descriptor, closed by the time it is read.
    }
  }
  return count;
}

describe("named shared memory: names and options (every backend, before any system call)", () => {
  test("a name that is not a string is ERR_INVALID_ARG_TYPE", () => {
    for (const bad of [undefined, null, 1, {}, Symbol("x")]) {
      throwsCode(() => openSharedMemory(bad as unknown as string), TypeError, ErrorCodes.INVALID_ARG_TYPE);
      throwsCode(() => unlinkSharedMemory(bad as unknown as string), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    }
  });

  test("an empty name, one with /, \\ or NUL past the leading /, . or .., or a lone surrogate is ERR_INVALID_ARG_VALUE", () => {
    for (const bad of ["", "/", "//x", "a/b", "/a/b", "a\\b", "a\0b", ".", "/..", "x\ud800"]) {
      throwsCode(() => openSharedMemory(bad, { size: 1, create: true }), TypeError, ErrorCodes.INVALID_ARG_VALUE);
      throwsCode(() => unlinkSharedMemory(bad), TypeError, ErrorCodes.INVALID_ARG_VALUE);
    }
  });

  test("a name over 255 bytes (UTF-8) is ENAMETOOLONG, saying the limit, with the name as path", () => {
    const long = `/${"é".repeat(128)}`; // 256 bytes after the /
    const error = throwsCode(() => openSharedMemory(long), SystemError, "ENAMETOOLONG");
    assert.match(error.message, /at most 255 bytes/);
    assert.equal((error as MmapSystemError).path, long);
    throwsCode(() => unlinkSharedMemory(long), SystemError, "ENAMETOOLONG");
  });

  test("bad options: wrong types, exclusive without create, prot other than RDWR/RDONLY/COPY, size missing or < 1", () => {
    const name = uniqueName();
    throwsCode(() => openSharedMemory(name, 1 as never), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    throwsCode(() => openSharedMemory(name, { create: 1 as never }), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    throwsCode(() => openSharedMemory(name, { exclusive: "yes" as never }), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    throwsCode(() => openSharedMemory(name, { size: "1" as never }), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    throwsCode(() => openSharedMemory(name, { prot: "2" as never }), TypeError, ErrorCodes.INVALID_ARG_TYPE);
    throwsCode(() => openSharedMemory(name, { exclusive: true }), TypeError, ErrorCodes.INVALID_ARG_VALUE);
    for (const prot of [RDWR | EXEC, RDONLY | EXEC, 3, 1]) {
      throwsCode(() => openSharedMemory(name, { prot }), TypeError, ErrorCodes.INVALID_ARG_VALUE);
    }
    // A new segment must be sized, which needs write access.
    for (const prot of [RDONLY, COPY]) {
      throwsCode(
        () => openSharedMemory(name, { size: 1, create: true, prot }),
        TypeError,
        ErrorCodes.INVALID_ARG_VALUE,
      );
    }
    throwsCode(() => openSharedMemory(name, { create: true }), RangeError, ErrorCodes.OUT_OF_RANGE);
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      throwsCode(() => openSharedMemory(name, { size, create: true }), RangeError, ErrorCodes.OUT_OF_RANGE);
    }
  });

  test("each option is read once (getters run once), before anything else happens", () => {
    const reads: string[] = [];
    const options = {
      get size() {
        reads.push("size");
        return 4096;
      },
      get create() {
        reads.push("create");
        return true;
      },
      get exclusive() {
        reads.push("exclusive");
        return true;
      },
      get prot() {
        reads.push("prot");
        return 99; // refused after every option was read
      },
    };
    throwsCode(() => openSharedMemory(uniqueName(), options as never), TypeError, ErrorCodes.INVALID_ARG_VALUE);
    assert.deepEqual(reads.sort(), ["create", "exclusive", "prot", "size"]);
  });
});

test("sharesMemoryByName is false on the fallback alone, and there every call refuses with ERR_MMAP_UNSUPPORTED", () => {
  assert.equal(shares, backendName !== "fallback", `sharesMemoryByName on ${backendName}`);
  if (shares) return;
  const name = uniqueName();
  const error = throwsCode(() => openSharedMemory(name, { size: 4096, create: true }), Error, ErrorCodes.UNSUPPORTED);
  assert.match(error.message, /fallback/);
  throwsCode(() => openSharedMemory(name), Error, ErrorCodes.UNSUPPORTED);
  throwsCode(() => unlinkSharedMemory(name), Error, ErrorCodes.UNSUPPORTED);
});

describe("named shared memory between processes and threads", () => {
  testUnless(noSharing, "another process sees this one's writes, and this one sees the other's", async () => {
    await withName((name) => {
      const m = openSharedMemory(name, { size: 8192, create: true, exclusive: true });
      try {
        for (let i = 0; i < 4096; i++) m[i] = (i * 7 + 5) & 255;
        const out = child(["shm-exchange", name, "5"]);
        assert.equal(out.mismatch, -1, "the child read what this process wrote");
        assert.equal(out.length, 8192);
        let mismatch = -1;
        for (let i = 4096; i < 8192 && mismatch < 0; i++) if (m[i] !== ((i * 3 + 5) & 255)) mismatch = i;
        assert.equal(mismatch, -1, "this process reads what the child wrote");
      } finally {
        m.unmap();
      }
    });
  });

  testUnless(
    noSharing,
    "two processes and two worker threads each do 100,000 Atomics.add on one Int32: the total is exact",
    async () => {
      await withName(async (name) => {
        const m = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        try {
          const count = 100_000;
          const parties = 4;
          const children = [0, 1].map(() => startChild(["shm-add", name, String(parties), String(count)]));
          const workers = [0, 1].map(() => {
            const task: SharedAdd = { task: "shm-add", name, parties, count };
            const worker = new Worker(builtScript("worker.js"), { workerData: task });
            return new Promise<Record<string, unknown>>((resolve, reject) => {
              let message: Record<string, unknown> | undefined;
              worker.once("message", (value: Record<string, unknown>) => {
                message = value;
              });
              worker.once("error", reject);
              worker.once("exit", (code) =>
                code === 0 && message ? resolve(message) : reject(new Error(`worker ended with ${code}`)),
              );
            });
          });
          for (const result of await Promise.all(workers))
            assert.deepEqual(result, { backend: backendName, added: count });
          for (const c of children) {
            const ended = await c.ended;
            assert.equal(ended.status, 0, ended.stderr);
            assert.deepEqual(lastLine(ended.stdout), { backend: backendName, added: count });
          }
          const slots = new Int32Array(m.buffer, m.byteOffset, 2);
          assert.equal(Atomics.load(slots, SLOT.ready), parties);
          assert.equal(Atomics.load(slots, SLOT.total), parties * count);
        } finally {
          m.unmap();
        }
      });
    },
  );

  testUnless(
    noSharing,
    "RDONLY and COPY maps see the segment's writes; their own writes stay in this process (macOS: COPY is ERR_MMAP_UNSUPPORTED)",
    async () => {
      await withName((name) => {
        const m = openSharedMemory(name, { size: 4096, create: true });
        const ro = openSharedMemory(name, { prot: RDONLY });
        if (mac) {
          // The system maps shared memory only MAP_SHARED: refused before any system call.
          throwsCode(() => openSharedMemory(name, { prot: COPY }), Error, ErrorCodes.UNSUPPORTED);
          m[10] = 77;
          assert.equal(ro[10], 77);
          for (const x of [m, ro]) x.unmap();
          return;
        }
        const copy = openSharedMemory(name, { prot: COPY });
        try {
          assert.equal(ro.prot, RDONLY);
          assert.equal(copy.prot, COPY);
          m[10] = 77;
          assert.equal(ro[10], 77);
          assert.equal(copy[10], 77);
          ro[20] = 1;
          copy[30] = 2;
          assert.equal(m[20], 0);
          assert.equal(m[30], 0);
          assert.equal(child(["shm-exchange", name, "0"]).length, 4096, "another process maps it too");
        } finally {
          for (const x of [m, ro, copy]) x.unmap();
        }
      });
    },
  );
});

describe("named shared memory: opening, sizes and errors", () => {
  testUnless(
    noSharing,
    "exclusive on a name that exists is EEXIST; a missing name without create is ENOENT",
    async () => {
      await withName((name) => {
        const missing = throwsCode(() => openSharedMemory(name), SystemError, "ENOENT");
        assert.equal((missing as MmapSystemError).path, name);
        assert.ok(typeof missing.errno === "number" && missing.errno < 0);
        assert.match(missing.syscall as string, windows ? /OpenFileMappingW/ : /shm_open/);
        const m = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        try {
          const exists = throwsCode(
            () => openSharedMemory(name, { size: 4096, create: true, exclusive: true }),
            SystemError,
            "EEXIST",
          );
          assert.equal((exists as MmapSystemError).path, name);
          // Without exclusive it opens the same memory; "x" and "/x" are one segment.
          const again = openSharedMemory(name.slice(1), { size: 4096, create: true });
          m[0] = 9;
          assert.equal(again[0], 9);
          again.unmap();
        } finally {
          m.unmap();
        }
      });
    },
  );

  testUnless(
    noSharing ?? (linux ? undefined : "puts a FIFO in /dev/shm, which only Linux has"),
    "a FIFO at the name (not a segment): ENODEV for every prot, at once (a read-only open never waits for a writer), no descriptor left",
    () => {
      const name = uniqueName();
      const bare = name.slice(1);
      execFileSync("mkfifo", ["-m", "600", `/dev/shm/${bare}`]);
      try {
        const before = descriptorsOf(name);
        for (const options of [{}, { size: 10 }, { prot: RDONLY }, { prot: COPY }, { size: 10, create: true }]) {
          // Before O_NONBLOCK, RDONLY and COPY opened the FIFO read-only and blocked here for good.
          const error = throwsCode(() => openSharedMemory(name, options), SystemError, "ENODEV");
          assert.equal((error as MmapSystemError).path, name);
        }
        assert.equal(descriptorsOf(name), before);
        assert.ok(fs.statSync(`/dev/shm/${bare}`).isFIFO(), "the FIFO is left as it was");
      } finally {
        fs.rmSync(`/dev/shm/${bare}`, { force: true });
      }
    },
  );

  testUnless(noSharing, "names with spaces, dots and non-ASCII characters work (up to 255 bytes of UTF-8)", () => {
    const long = process.platform === "darwin" ? 4 : 100; // macOS: 30 bytes after the /
    for (const name of [`/p é ${process.pid}.${serial++} 💾`, `p${process.pid}-${serial++}-${"ü".repeat(long)}`]) {
      try {
        const m = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        m[1] = 5;
        const again = openSharedMemory(name);
        assert.equal(again[1], 5);
        again.unmap();
        m.unmap();
      } finally {
        cleanUp(name);
      }
    }
  });

  testUnless(noSharing, "size: all of it when omitted, less when asked; past the end is ERR_OUT_OF_RANGE", async () => {
    await withName((name) => {
      const m = openSharedMemory(name, { size: 3 * 4096, create: true });
      try {
        const whole = openSharedMemory(name);
        assert.equal(whole.length, 3 * 4096);
        const part = openSharedMemory(name, { size: 100 });
        assert.equal(part.length, 100);
        throwsCode(() => openSharedMemory(name, { size: 4 * 4096 }), RangeError, ErrorCodes.OUT_OF_RANGE);
        whole.unmap();
        part.unmap();
      } finally {
        m.unmap();
      }
    });
  });

  testUnless(noSharing, "fileSize() is the segment's size now (POSIX: create without exclusive grows it)", async () => {
    await withName((name) => {
      const m = openSharedMemory(name, { size: 10_000, create: true });
      // macOS rounds a segment's size up to the page size.
      const size = mac ? Math.ceil(10_000 / pageSize()) * pageSize() : 10_000;
      try {
        assert.equal(m.length, 10_000);
        assert.equal(m.fileSize(), size);
        if (windows || mac) {
          // A section, or a macOS segment, cannot grow: a larger size is refused, the segment unchanged.
          throwsCode(() => openSharedMemory(name, { size: 40_000, create: true }), RangeError, ErrorCodes.OUT_OF_RANGE);
          assert.equal(m.fileSize(), size);
        } else {
          const grown = openSharedMemory(name, { size: 20_000, create: true });
          assert.equal(grown.length, 20_000);
          assert.equal(m.fileSize(), 20_000, "the first map sees the new size");
          grown[19_999] = 1;
          grown.unmap();
        }
      } finally {
        m.unmap();
      }
      throwsCode(() => m.fileSize(), Error, ErrorCodes.UNMAPPED);
    });
  });

  testUnless(noSharing, "resize(): a POSIX segment grows and shrinks with its map; a Windows one refuses", async () => {
    await withName((name) => {
      const m = openSharedMemory(name, { size: 8192, create: true });
      m[0] = 7;
      if (mac) {
        // The segment's size is set once: a map of it may shrink, the segment may not change.
        throwsCode(() => m.resize(1 << 20), Error, ErrorCodes.UNSUPPORTED);
        throwsCode(() => m.resize(100, { truncate: true }), Error, ErrorCodes.UNSUPPORTED);
        assert.equal(m.unmapped, false, "the map is left as it was");
        const shrunk = m.resize(100);
        assert.equal(shrunk[0], 7);
        shrunk.unmap();
        return;
      }
      if (windows) {
        throwsCode(() => m.resize(16_384), Error, ErrorCodes.UNSUPPORTED);
        assert.equal(m.unmapped, false, "the map is left as it was");
        assert.equal(m[0], 7);
        m.unmap();
        return;
      }
      const grown = m.resize(3 * 8192);
      assert.equal(m.unmapped, true);
      assert.equal(grown[0], 7);
      assert.equal(grown.fileSize(), 3 * 8192);
      grown[3 * 8192 - 1] = 9;
      const other = openSharedMemory(name); // all of the segment, as another process would see it
      assert.equal(other.length, 3 * 8192);
      assert.equal(other[3 * 8192 - 1], 9);
      other.unmap();
      const shrunk = grown.resize(100, { truncate: true });
      assert.equal(shrunk.fileSize(), 100);
      assert.equal(shrunk[0], 7);
      shrunk.unmap();
    });
  });

  testUnless(
    noSharing ??
      (windows ? "POSIX names outlive their maps until unlinked; the Windows rules are tested below" : undefined),
    "POSIX: a segment lives until unlinked; unlinked, its maps stay valid and the name is free for a new segment",
    async () => {
      await withName((name) => {
        assert.deepEqual(child(["shm-create", name, "4096"]), { length: 4096 });
        const m = openSharedMemory(name);
        assert.equal(m[0], 7, "made by a process that has ended: still there");
        m.unmap();
      });
      await withName((name) => {
        const result = runChild(["shm-unmap-gc", name], {}, ["--expose-gc"]);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(lastLine(result.stdout), { length: 4096 }, "unmapped and collected: still there");
      });
      const name = uniqueName();
      try {
        const m = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        m.unmap();
        assert.deepEqual(child(["shm-open", name]), { length: 4096 }, "unmapped, the segment stays until unlinked");
        const held = openSharedMemory(name);
        held[0] = 42;
        unlinkSharedMemory(name);
        throwsCode(() => openSharedMemory(name), SystemError, "ENOENT");
        assert.deepEqual(child(["shm-open", name]), { code: "ENOENT" });
        throwsCode(() => unlinkSharedMemory(name), SystemError, "ENOENT");
        assert.equal(held[0], 42, "the map of an unlinked segment still works");
        assert.equal(held.fileSize(), 4096);
        const fresh = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        assert.equal(fresh[0], 0, "the name now names a new segment");
        fresh[0] = 1;
        assert.equal(held[0], 42);
        fresh.unmap();
        held.unmap();
      } finally {
        cleanUp(name);
      }
    },
  );

  testUnless(
    noSharing ?? (windows ? undefined : "Windows rules; POSIX is tested above"),
    "Windows: a segment lives while a process maps it; unlinkSharedMemory removes nothing",
    async () => {
      await withName((name) => {
        const m = openSharedMemory(name, { size: 4096, create: true, exclusive: true });
        try {
          unlinkSharedMemory(name); // nothing to remove: the segment stays while mapped
          assert.deepEqual(child(["shm-open", name]), { length: 4096 });
        } finally {
          m.unmap();
        }
        // With placeholders unmap() lets go of the view at once; without, only once its buffer is collected.
        if (caps.releasesFileOnUnmap) assert.deepEqual(child(["shm-open", name]), { code: "ENOENT" });
      });
      // Unmapped and collected: gone, whether or not the backend let go of the view at unmap().
      await withName((name) => {
        const result = runChild(["shm-unmap-gc", name], {}, ["--expose-gc"]);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(lastLine(result.stdout), { code: "ENOENT" });
      });
      // Made by a process that has ended: gone with it.
      await withName((name) => {
        assert.deepEqual(child(["shm-create", name, "4096"]), { length: 4096 });
        throwsCode(() => openSharedMemory(name), SystemError, "ENOENT");
      });
    },
  );

  testUnless(
    noSharing,
    "10,000 open/unmap cycles and 10,000 create/unmap/unlink cycles leave no live map (and on Linux no descriptor) behind",
    async () => {
      // Descriptors are counted by what they point at, the segments this test names, so that
      // another test's dropped map, closed by a collection meanwhile, cannot change the count.
      const base = uniqueName();
      const live = liveMaps();
      const m = openSharedMemory(base, { size: 4096, create: true });
      try {
        if (linux) assert.equal(descriptorsOf(base), 1, "the map holds its segment's descriptor");
        for (let i = 0; i < 10_000; i++) {
          const x = openSharedMemory(base);
          x[i & 4095] = (x[i & 4095] as number) + 1;
          x.unmap();
        }
        let sum = 0;
        for (let i = 0; i < 4096; i++) sum += m[i] as number;
        assert.equal(sum, 10_000, "every write landed in the one segment");
      } finally {
        m.unmap();
        cleanUp(base);
      }
      for (let i = 0; i < 10_000; i++) {
        const name = `${base}-${i}`;
        try {
          openSharedMemory(name, { size: 4096, create: true, exclusive: true }).unmap();
        } finally {
          cleanUp(name);
        }
      }
      if (linux) assert.equal(descriptorsOf(base), 0, "descriptors of the test's segments");
      assert.equal(liveMaps(), live, "live maps");
    },
  );
});
