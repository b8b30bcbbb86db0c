/**
 * Faults from outside the program: a full file system, low resource limits,
 * and a map that fails after `grow` extended the file. Linux only: each
 * scenario of faults-child.ts runs in a confined child (confine.ts: a private
 * mount namespace with a small file system, prlimit, no CAP_IPC_LOCK), and
 * must end as the backend's capabilities say: a coded system error with the
 * file as it was, ERR_MMAP_FAULT (survivesFileFaults), or death by SIGBUS.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { describe } from "vitest";
import { testUnless } from "../unless.js";
import { type Confinement, runConfined, whyNot } from "./confine.js";
import { type ChildResult, caps, tempFile } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** A real map (native, koffi); the fallback copies the file into memory and writes it back with write(). */
const real = caps.sharesPageCache;
/** Where the fallback writes back through a descriptor of its own, which it opens at map time. */
const reopens = !real && !caps.needsDescriptor;

/** A system error as faults-child.ts reports it (JSON leaves out `fileOffset: undefined`). */
function systemError(code: string, syscall: string): Record<string, unknown> {
  return { code, errno: -((os.constants.errno as Record<string, number>)[code] ?? Number.NaN), syscall };
}

/** The child's last line, once it exited 0. */
function outcome(child: ChildResult): Record<string, unknown> {
  // Its last line tells a death in the scenario from one after it (as the process exits).
  const last = child.stdout.trim().split("\n").at(-1) || "nothing";
  assert.equal(child.signal, null, `the child died by ${child.signal} after printing ${last}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split("\n").at(-1) as string);
}

/** The last step the child announced before it went on (or died). */
function lastReached(child: ChildResult): unknown {
  const steps = child.stdout.split("\n").filter((line) => line.startsWith('{"reached"'));
  return steps.length ? JSON.parse(steps.at(-1) as string).reached : undefined;
}

/** Whether this process ignores `signal`; a child of the same runtime does the same. */
function ignores(signal: "SIGXFSZ"): boolean {
  const mask = /SigIgn:\s+([0-9a-f]+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${mask}`) >> BigInt(os.constants.signals[signal] - 1)) & 1n) === 1n;
}

/** glibc's posix_fallocate writes a byte into each block where the file system has no fallocate; musl's does not. */
function libcWritesBlocks(): boolean {
  return /\/libc\.so\.6$/m.test(fs.readFileSync("/proc/self/maps", "utf8"));
}

/** A tiny file system of each kind: tmpfs has fallocate; ext2 has not, so the C library (or the fallback) writes the blocks. */
const fileSystems: [string, Confinement][] = [
  ["tmpfs", { mount: { kind: "tmpfs", size: "256k" } }],
  ["ext2, no fallocate", { mount: { kind: "ext2", kib: 512 } }],
];

for (const [name, confinement] of fileSystems) {
  const skip = whyNot(confinement);
  const reserveSkip =
    skip ??
    (name.startsWith("ext2") && real && process.platform === "linux" && !libcWritesBlocks()
      ? "this C library's posix_fallocate does not write the blocks where the file system has no fallocate: grow only extends the file there"
      : undefined);

  describe(`a full file system (${name})`, () => {
    testUnless(reserveSkip, "grow past the free space: ENOSPC from mapFile, no map, the file as it was", () => {
      const r = outcome(runConfined(confinement, ["faults", "$DIR", "grow-enospc"]));
      const enospc = systemError("ENOSPC", "posix_fallocate");
      assert.deepEqual(r, {
        existing: enospc,
        size: 5000,
        intact: true,
        created: enospc,
        exists: false, // the file mapFile created is removed again
        maps: 0,
        live: 0,
        fds: 0,
      });
    });

    testUnless(
      reserveSkip,
      "grow reserves the blocks: once the disk is full, writes through the map still land",
      () => {
        const r = outcome(runConfined(confinement, ["faults", "$DIR", "grow-reserves"]));
        assert.ok((r.allocated as number) >= 64 * KiB, `only ${r.allocated} bytes allocated`);
        assert.deepEqual(
          { ...r, allocated: undefined },
          { allocated: undefined, filled: "ENOSPC", flush: "ok", unmap: "ok", size: 64 * KiB, written: true },
        );
      },
    );

    testUnless(
      skip,
      "a write into a hole of a sparse file: ERR_MMAP_FAULT where survivesFileFaults, SIGBUS on other real maps, ENOSPC from the fallback's flush",
      () => {
        const child = runConfined(confinement, ["faults", "$DIR", "sparse-write"]);
        const at = 3 * 64 * KiB + 17;
        if (!caps.survivesFileFaults) {
          // Documented: koffi cannot catch the fault; the process ends as in C, at the write.
          assert.equal(child.signal, "SIGBUS", `status ${child.status}: ${child.stderr}`);
          assert.equal(lastReached(child), "write");
          return;
        }
        const r = outcome(child);
        const base = { at, filled: "ENOSPC", neighbour: 0 };
        if (real) {
          // The store completes into the anonymous page that replaced the file's (the map reads it
          // back); the file never gets it, and every call after it reports where the file failed.
          const fault = { code: "ERR_MMAP_FAULT", fileOffset: at };
          assert.deepEqual(r, {
            ...base,
            readBack: 0x5a,
            flush: fault,
            again: fault,
            unmap: fault,
            unmapped: true,
            fileByte: 0,
          });
        } else {
          // The fallback's memory keeps the byte; each flush fails until there is room, then writes it.
          const enospc = systemError("ENOSPC", "msync");
          assert.deepEqual(r, {
            ...base,
            readBack: 0x5a,
            flush: enospc,
            again: enospc,
            unmap: enospc,
            unmapped: false,
            afterFree: "ok",
            unmapAfterFree: "ok",
            fileByte: 0x5a,
          });
        }
      },
    );
  });
}

describe("resource limits", () => {
  const memlock: Confinement = { limits: { memlock: 64 * KiB }, noIpcLock: true };
  testUnless(
    whyNot(memlock),
    "RLIMIT_MEMLOCK: lock() of a bigger map is a coded error from mlock; the map stays usable",
    () => {
      const file = tempFile(Buffer.alloc(MiB, 0x41));
      const r = outcome(runConfined(memlock, ["faults", file, "memlock"]));
      const rest = { flush: "ok", unlock: "ok", unmap: "ok", byte: 0x5a };
      if (!caps.locksMemory) {
        // Documented: the fallback pins nothing, so no limit applies.
        assert.deepEqual(r, { small: "ok", smallLockedKiB: 0, lock: "ok", lockedKiB: 0, ...rest });
        return;
      }
      const code = (r.lock as { code?: string }).code as string;
      assert.ok(["ENOMEM", "EPERM", "EAGAIN"].includes(code), `lock() gave ${JSON.stringify(r.lock)}`);
      // A lock within the limit works; the one past it leaves nothing locked.
      assert.deepEqual(r, {
        small: "ok",
        smallLockedKiB: 16,
        lock: systemError(code, "mlock"),
        lockedKiB: 0,
        ...rest,
      });
    },
  );

  const nofile: Confinement = { limits: { nofile: 64 } };
  testUnless(
    whyNot(nofile),
    "RLIMIT_NOFILE: with no descriptor left, mapFile is EMFILE, creates nothing, leaks nothing; real maps need none",
    () => {
      const file = tempFile(Buffer.alloc(64 * KiB, 0x41));
      const r = outcome(runConfined(nofile, ["faults", file, "nofile"]));
      const open = systemError("EMFILE", "open");
      assert.deepEqual(r, {
        exhausted: true,
        mapFile: open,
        grow: open,
        exists: false,
        // The fallback reopens the file for writing back (docs/fallback.md); RDONLY needs nothing.
        rdwr: reopens ? systemError("EMFILE", "mmap") : "ok",
        rdonly: "ok",
        leaked: 0,
      });
      assert.equal(fs.existsSync(`${file}.new`), false);
    },
  );

  const fsize: Confinement = { lateLimits: { fsize: 64 * KiB } };
  testUnless(whyNot(fsize), "RLIMIT_FSIZE: grow past it is EFBIG and the file as it was, or SIGXFSZ", () => {
    const file = tempFile(Buffer.alloc(5000, 0x41));
    const child = runConfined(fsize, ["faults", file, "fsize-grow"]);
    if (!ignores("SIGXFSZ")) {
      // Deno leaves SIGXFSZ at its default: the kernel ends the process at the first call past the
      // limit, in the middle of mapFile, before anything can put the file back. The fallback
      // had written zeros up to the limit by then.
      assert.equal(child.signal, "SIGXFSZ", `status ${child.status}: ${child.stderr}`);
      assert.equal(lastReached(child), "grow an existing file");
      assert.equal(fs.statSync(file).size, real ? 5000 : 64 * KiB);
      return;
    }
    // Node and Bun ignore SIGXFSZ, so the call fails with EFBIG.
    const efbig = systemError("EFBIG", "posix_fallocate");
    assert.deepEqual(outcome(child), { existing: efbig, size: 5000, intact: true, created: efbig, exists: false });
    assert.equal(fs.statSync(file).size, 5000);
    assert.equal(fs.existsSync(`${file}.new`), false);
  });

  testUnless(whyNot(fsize), "RLIMIT_FSIZE: a write through a map past it reaches the file on a real map", () => {
    const file = tempFile(Buffer.alloc(MiB));
    const child = runConfined(fsize, ["faults", file, "fsize-map"]);
    const at = 512 * KiB + 3;
    if (real) {
      // The limit applies to write() and truncate, not to the kernel writing a mapped page back.
      const r = outcome(child);
      assert.deepEqual(r, {
        limit: `${64 * KiB}`,
        flush: "ok",
        again: "ok",
        unmap: "ok",
        unmapped: true,
        fileByte: 0x5a,
      });
    } else if (!ignores("SIGXFSZ")) {
      // The fallback writes back with write(): past the limit, Deno dies by SIGXFSZ at flush().
      assert.equal(child.signal, "SIGXFSZ", `status ${child.status}: ${child.stderr}`);
      assert.equal(lastReached(child), "flush");
    } else {
      // The fallback writes back with write(): EFBIG, every time, and unmap() keeps the map.
      const efbig = systemError("EFBIG", "msync");
      const r = outcome(child);
      assert.deepEqual(r, {
        limit: `${64 * KiB}`,
        flush: efbig,
        again: efbig,
        unmap: efbig,
        unmapped: false,
        fileByte: 0,
      });
    }
    assert.equal(fs.readFileSync(file)[at], real ? 0x5a : 0);
  });
});

describe("grow puts the file back when the map fails", () => {
  const noexec: Confinement = { mount: { kind: "tmpfs", size: "4m", noexec: true } };
  const emulated =
    real && process.env.PORTABLE_MMAP_TEST_LAUNCHER
      ? "under an emulator (PORTABLE_MMAP_TEST_LAUNCHER) noexec never refuses: qemu-user translates the guest's code and maps no page executable"
      : undefined;
  testUnless(emulated ?? whyNot(noexec), "an EXEC map on a noexec file system: EPERM from mmap after growing", () => {
    const r = outcome(runConfined(noexec, ["faults", "$DIR", "grow-exec"]));
    if (real) {
      const eperm = systemError("EPERM", "mmap");
      assert.deepEqual(r, { existing: eperm, size: 5000, intact: true, created: eperm, exists: false });
    } else {
      // The fallback calls no mmap (enforcesProtection: false): EXEC changes nothing, noexec does not apply.
      assert.deepEqual(r, { existing: "ok", size: MiB, intact: true, created: "ok", exists: MiB });
    }
  });

  const nofile: Confinement = { limits: { nofile: 64 } };
  testUnless(whyNot(nofile), "one descriptor left: the fallback's reopen is EMFILE after growing", () => {
    const file = tempFile(Buffer.alloc(5000, 0x41));
    const r = outcome(runConfined(nofile, ["faults", file, "grow-last-fd"]));
    if (reopens) {
      const emfile = systemError("EMFILE", "mmap");
      assert.deepEqual(r, { existing: emfile, size: 5000, intact: true, created: emfile, exists: false });
    } else {
      // mapFile's own descriptor is all a real map (or a fallback that keeps it) needs.
      assert.deepEqual(r, { existing: "ok", size: MiB, intact: true, created: "ok", exists: MiB });
    }
    assert.equal(fs.statSync(file).size, reopens ? 5000 : MiB);
  });
});
