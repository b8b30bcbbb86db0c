/**
 * Child processes of the conformance suite, for what must not run in the
 * suite's own process: reading after unmap (a crash would end the child, not
 * the suite), backend selection from the environment, release after GC,
 * other users and permissions, hostile scenarios (hostile-child.ts), faults
 * from a full disk or low resource limits (faults-child.ts).
 * Usage: child.js <command> [args]; prints one JSON line. `info` reports
 * the selection, `backendInfo()` and every warning the process emitted.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as api from "portable-mmap";
import { backendInfo, EXEC, map, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { durability } from "./durability-child.js";
import { faults } from "./faults-child.js";
import { collectGarbage, forceGc } from "./gc.js";
import { hostile } from "./hostile-child.js";
import { addInSegment, exchange } from "./shared-memory-tasks.js";
import { contents, positions, type StoreResult, storeAndFlush, stored } from "./store.js";
import { workerRelease } from "./worker-release-child.js";

const [command, file] = process.argv.slice(2);

/** Every warning this process emits (`info` reports them), from the start. */
const warnings: { name: string; code?: string; message: string }[] = [];
process.on("warning", (w: Error & { code?: string }) =>
  warnings.push({ name: w.name, code: w.code, message: w.message }),
);

/** Selects a backend through `pkg` (two maps, so two calls that need one) and reports the outcome. */
function selectWith(pkg: typeof api): Record<string, unknown> {
  try {
    pkg.mapRegion(null, 4096, RDWR, 1).unmap();
    pkg.mapRegion(null, 4096, RDWR, 1).unmap();
    return { ok: true, info: pkg.backendInfo() };
  } catch (error) {
    const e = error as Error & { code?: string };
    return { ok: false, code: e.code, message: e.message, info: pkg.backendInfo() };
  }
}

function print(value: unknown): void {
  console.log(JSON.stringify(value));
}

async function main(): Promise<void> {
  switch (command) {
    case "detach-protector": {
      // Run with V8's --trace-protector-invalidation, which prints a line when any buffer of the
      // process is first detached. With `keep`, the maps are never unmapped.
      const fd = fs.openSync(file as string, "r");
      const m = map(fd, RDONLY);
      const anon = mapRegion(null, 4096, RDWR, api.ANON);
      anon[0] = m[0] as number;
      anon.flush();
      if (process.argv[4] !== "keep") {
        anon.unmap();
        m.unmap();
      }
      fs.closeSync(fd);
      print({ byte: anon[0] ?? null, length: anon.length });
      break;
    }
    case "read-after-unmap": {
      const fd = fs.openSync(file as string, "r+");
      const m = map(fd, RDWR);
      const view = m.subarray(1, 9);
      const buffer = m.asBuffer();
      m.unmap();
      let sum = 0;
      // Every read below would touch unmapped memory if anything still pointed at it.
      for (let i = 0; i < 4096; i++) sum += (m[i] ?? 0) + (view[i] ?? 0) + (buffer[i] ?? 0);
      m[0] = 1;
      view[0] = 1;
      print({ length: m.length, viewLength: view.length, bufferLength: buffer.length, sum });
      break;
    }
    case "write-rdonly-exec": {
      const fd = fs.openSync(file as string, "r");
      const m = map(fd, RDONLY | EXEC);
      fs.closeSync(fd);
      m[0] = 9;
      print({ value: m[0] });
      break;
    }
    case "write-after-protect": {
      const m = mapRegion(null, 4096, RDWR, 1);
      m.protect(0);
      m[0] = 9;
      print({ value: m[0] });
      break;
    }
    case "info": {
      // `info cjs`: then also through the CommonJS build, a second copy of the package in this process.
      const result = selectWith(api);
      const cjs = file === "cjs" ? selectWith(createRequire(import.meta.url)("../../dist/index.cjs")) : undefined;
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 20));
      print({ ...result, cjs, warnings });
      break;
    }
    case "gc-release": {
      // Maps the file many times, drops every map, collects, and lets finalizers run.
      const gc = forceGc();
      if (!gc) throw new Error("run with --expose-gc (Deno: --v8-flags=--expose-gc)");
      const fd = fs.openSync(file as string, "r+");
      for (let i = 0; i < 64; i++) map(fd, RDWR)[0] = i;
      fs.closeSync(fd);
      for (let round = 0; round < 20; round++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n");
      const mapped = maps.filter((line) => line.endsWith(file as string)).length;
      const fds = fs.readdirSync("/proc/self/fd").filter((n) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
        } catch {
          return false;
        }
      }).length;
      print({ mapped, fds });
      break;
    }
    case "durability":
      return durability(file as string);
    case "worker-release":
      return print(await workerRelease(file as string));
    case "hostile":
      print(await hostile(process.argv[4] as string, file as string, process.argv[5] as string));
      break;
    case "faults":
      print(faults(process.argv[4] as string, file as string));
      break;
    case "append-store": {
      // An RDWR map of a descriptor in append mode, in whatever this process's permissions allow.
      const fd = fs.openSync(file as string, "a+");
      const result = storeAndFlush(fd, positions, stored);
      fs.closeSync(fd);
      const selected = backendInfo().backends.find((b) => b.name === backendInfo().selected);
      print({ result, needsDescriptor: selected?.capabilities?.needsDescriptor });
      break;
    }
    case "reopen-denied": {
      // Descriptors that stay writable while a new open of their file is refused (mode 000).
      // Root passes every permission check, so root drops to nobody first, once every backend is loaded.
      backendInfo();
      if (process.getuid?.() === 0) {
        process.setgid?.(65534);
        process.setuid?.(65534);
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-denied-"));
      const results: Record<string, StoreResult> = {};
      try {
        for (const flags of ["r+", "a+"]) {
          const target = path.join(dir, `${flags[0]}.bin`);
          fs.writeFileSync(target, contents);
          const fd = fs.openSync(target, flags);
          fs.chmodSync(target, 0);
          try {
            results[flags] = storeAndFlush(fd, positions, stored);
          } finally {
            fs.closeSync(fd);
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      print({ uid: process.getuid?.(), results });
      break;
    }
    case "shm-exchange":
      // child.js shm-exchange <name> <seed>
      print(exchange(file as string, Number(process.argv[4])));
      break;
    case "shm-add":
      // child.js shm-add <name> <parties> <count>
      print(addInSegment(file as string, Number(process.argv[4]), Number(process.argv[5])));
      break;
    case "shm-create": {
      // child.js shm-create <name> <size>: creates it, stores 7 at byte 0, ends without unlinking it
      const m = api.openSharedMemory(file as string, { size: Number(process.argv[4]), create: true });
      m[0] = 7;
      print({ length: m.length });
      m.unmap();
      break;
    }
    case "shm-unmap-gc": {
      // child.js shm-unmap-gc <name> (--expose-gc): creates it, unmaps it, collects, then opens it again
      api.openSharedMemory(file as string, { size: 4096, create: true, exclusive: true }).unmap();
      await collectGarbage();
      printOpen(file as string);
      break;
    }
    case "shm-open": {
      // child.js shm-open <name>: the code of opening it, or its length
      printOpen(file as string);
      break;
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/** Prints the length of the named shared memory, opened and unmapped, or the code of opening it. */
function printOpen(name: string): void {
  try {
    const m = api.openSharedMemory(name);
    print({ length: m.length });
    m.unmap();
  } catch (error) {
    print({ code: (error as { code?: string }).code });
  }
}

await main();
