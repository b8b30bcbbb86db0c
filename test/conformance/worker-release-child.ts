/**
 * The child of the worker-release test (workers.test.ts), run with
 * --expose-gc: for each way a worker thread can end, a worker maps a file of
 * its own and ends without unmap() (worker.ts `leave-mapped`); then this
 * process collects garbage and counts the file's mappings (/proc/self/maps)
 * and descriptors (/proc/self/fd), and reads the byte the worker stored.
 */
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";
import { collectGarbage } from "./gc.js";
import { descriptorsOf, type LeaveMapped, mappingsOf } from "./worker-tasks.js";

/** How a worker ends, in the order they are tried. */
export const ends: readonly LeaveMapped["end"][] = ["natural", "exit", "terminate", "pending", "pending-exit"];

/** What one way of ending left behind. */
export interface Released {
  /** The worker's report: its mappings of the file while mapped, its backend. */
  inWorker: Record<string, unknown>;
  exitCode: number;
  /** Mappings of the file and descriptors of it left once the worker ended and garbage was collected. */
  mapped: number;
  fds: number;
  /** The file's first byte: the worker stored `value` there through its RDWR map. */
  byte0: number;
}

/** Runs one worker to its end; resolves with its report and exit code. */
function runWorker(task: LeaveMapped): Promise<{ inWorker: Record<string, unknown>; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: task });
    const inWorker: Record<string, unknown> = {};
    worker.on("message", (message: Record<string, unknown>) => {
      Object.assign(inWorker, message);
      if (message.mapped !== undefined && task.end === "terminate") void worker.terminate();
    });
    worker.on("error", reject);
    worker.on("exit", (exitCode) => resolve({ inWorker, exitCode }));
  });
}

/** Every way of ending, one file each (`base` with a suffix, of 64 KiB of 0x41). */
export async function workerRelease(base: string): Promise<Record<string, Released>> {
  const results: Record<string, Released> = {};
  for (const end of ends) {
    const file = `${base}-${end}`;
    fs.writeFileSync(file, Buffer.alloc(64 * 1024, 0x41));
    const { inWorker, exitCode } = await runWorker({ task: "leave-mapped", file, value: 0x77, end });
    await collectGarbage();
    results[end] = {
      inWorker,
      exitCode,
      mapped: mappingsOf(file),
      fds: descriptorsOf(file),
      byte0: fs.readFileSync(file)[0] as number,
    };
  }
  return results;
}
