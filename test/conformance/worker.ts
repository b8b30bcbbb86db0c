/**
 * The suite's worker thread (built to build/test/worker.js): does the task
 * in `workerData`, as worker-tasks.ts describes it, and reports to its parent.
 */
import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { backendInfo, COPY, mapFile, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { addInSegment } from "./shared-memory-tasks.js";
import {
  type HoldMaps,
  type LeaveMapped,
  mappingsOf,
  type PostMoved,
  type SharedAdd,
  type WriteRange,
} from "./worker-tasks.js";

const post = (message: Record<string, unknown>): void => parentPort?.postMessage(message);

function writeRange(w: WriteRange): void {
  const fd = fs.openSync(w.file, "r+");
  const m = w.region ? mapRegion(fd, w.to - w.from, RDWR, 0, w.from) : mapFile(w.file, { prot: RDWR });
  const base = w.region ? w.from : 0;
  post({ mapped: true, backend: backendInfo().selected });
  Atomics.wait(w.go, 0, 0);
  m.fill(w.value, w.from - base, w.to - base);
  m.flush();
  // Flushed and never unmapped: nothing is written through the descriptor after this.
  fs.closeSync(fd);
}

function leaveMapped(w: LeaveMapped): void {
  const maps = [RDONLY, RDWR, COPY].map((prot) => mapFile(w.file, { prot }));
  // A map that keeps its descriptor, handed on by resize(): closed when the worker ends too.
  maps.push(mapFile(w.file, { keepOpen: true }).resize(4096));
  const rdwr = maps[1] as (typeof maps)[number];
  rdwr[0] = w.value;
  post({ mapped: mappingsOf(w.file), backend: backendInfo().selected });
  // Held to the end: no map may be collected before the worker ends.
  (globalThis as { held?: unknown }).held = maps;
  if (w.end === "pending" || w.end === "pending-exit") {
    rdwr.flushAsync().catch((error) => post({ flushError: String(error) }));
    rdwr.unmap();
  }
  if (w.end === "exit" || w.end === "pending-exit") process.exit(0);
  if (w.end === "terminate") setInterval(() => {}, 1000);
}

async function postMoved(w: PostMoved): Promise<void> {
  const m = mapFile(w.file, { prot: RDWR });
  (globalThis as { held?: unknown }).held = m;
  const stream = new ReadableStream({ type: "bytes", pull: (c) => c.byobRequest?.respond(1) });
  const { value } = await stream.getReader({ mode: "byob" }).read(m.subarray());
  const moved = (value as Uint8Array).buffer as ArrayBuffer;
  parentPort?.postMessage({ moved, backend: backendInfo().selected }, [moved]);
  if (w.end === "terminate") {
    setInterval(() => {}, 1000);
    return;
  }
  await new Promise((resolve) => parentPort?.once("message", resolve));
  // Deno's port has no close(); its worker ends with close().
  if (typeof parentPort?.close === "function") parentPort.close();
  else (globalThis as { close?: () => void }).close?.();
}

function holdMaps(w: HoldMaps): void {
  const fd = fs.openSync(w.file, "r");
  const maps = [];
  let code: string | undefined;
  try {
    while (maps.length < w.count) maps.push(mapRegion(fd, 4096));
  } catch (error) {
    code = (error as { code?: string }).code;
  }
  post({ held: maps.length, code });
  for (const m of maps) m.unmap();
  fs.closeSync(fd);
}

const task = workerData as WriteRange | LeaveMapped | PostMoved | HoldMaps | SharedAdd;
if (task.task === "write-range") writeRange(task);
else if (task.task === "shm-add") post(addInSegment(task.name, task.parties, task.count));
else if (task.task === "post-moved") await postMoved(task);
else if (task.task === "hold-maps") holdMaps(task);
else leaveMapped(task);
