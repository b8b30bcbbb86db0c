/**
 * The checks `portable-mmap check` runs in its own process against one
 * backend: each maps a file of the given path and verifies one feature.
 *
 * @module
 */
import * as fs from "node:fs";
import { RDWR } from "../api/constants.js";
import { mapFileWith } from "../api/map.js";
import { loadBackend } from "../api/select.js";
import type { Advice, BackendName } from "../backends/contract.js";

/** The outcome of one check. */
export interface ProbeResult {
  /** `skipped` says in `detail` why the check does not apply or cannot run here. */
  status: "ok" | "failed" | "skipped";
  /** What was seen: why it failed or was skipped, or a note. */
  detail?: string;
}

/** One check: its name and what it runs against a backend and a scratch file path. */
export interface Probe {
  /** Short name printed in the table. */
  name: string;
  /** Runs the check with `backend` on a file at `file` (it makes the file); throws or returns `failed` when it fails. */
  run(backend: BackendName, file: string): ProbeResult | Promise<ProbeResult>;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Map, read, write, flush, read back with fs, unmap: the basic round trip. */
function roundTrip(name: BackendName, file: string): ProbeResult {
  const size = 3 * 65536 + 123;
  fs.writeFileSync(file, Buffer.alloc(size, 1));
  const backend = loadBackend(name);
  const m = mapFileWith(backend, file, { prot: RDWR, offset: 70000 });
  if (m.length !== size - 70000 || m[0] !== 1) fail("read back the wrong bytes");
  m.fill(7, 0, 1000);
  m.flush();
  const afterFlush = fs.readFileSync(file);
  if (afterFlush[70000] !== 7 || afterFlush[70999] !== 7 || afterFlush[71000] !== 1) fail("flush did not write");
  m[m.length - 1] = 9;
  m.unmap();
  if (m.length !== 0 && backend.capabilities.detachesOnUnmap) fail("not detached by unmap");
  if (fs.readFileSync(file)[size - 1] !== 9) fail("unmap did not write back");
  return { status: "ok" };
}

/** A file of `pages` pages of the backend, filled with `fill`, mapped RDWR. */
function mapPages(name: BackendName, file: string, pages: number, fill = 0) {
  const backend = loadBackend(name);
  fs.writeFileSync(file, Buffer.alloc(pages * backend.pageSize, fill));
  return { backend, m: mapFileWith(backend, file, { prot: RDWR }) };
}

async function flushAsync(name: BackendName, file: string): Promise<ProbeResult> {
  const { m } = mapPages(name, file, 4, 1);
  try {
    m.fill(5, 100, 5000);
    await m.flushAsync();
    const bytes = fs.readFileSync(file);
    if (bytes[99] !== 1 || bytes[100] !== 5 || bytes[4999] !== 5 || bytes[5000] !== 1)
      fail("the file does not hold what was written before flushAsync()");
  } finally {
    m.unmap();
  }
  return { status: "ok" };
}

function advise(name: BackendName, file: string): ProbeResult {
  const { m } = mapPages(name, file, 4, 2);
  try {
    m[10] = 42; // not flushed: advice must keep it
    const advices: Advice[] = ["normal", "random", "sequential", "willneed", "dontneed"];
    for (const advice of advices) {
      m.advise(advice);
      if (m[10] !== 42 || m[m.length - 1] !== 2) fail(`advise("${advice}") changed the contents`);
    }
  } finally {
    m.unmap();
  }
  return { status: "ok", detail: "normal, random, sequential, willneed, dontneed" };
}

function residency(name: BackendName, file: string): ProbeResult {
  const { backend, m } = mapPages(name, file, 4, 3);
  try {
    m[0] = 4; // a written page is resident
    const pages = m.residency();
    if (pages.length !== 4) fail(`${pages.length} entries for 4 pages`);
    if (pages.some((p) => p !== 0 && p !== 1)) fail(`entries other than 0 and 1: ${[...pages].join(",")}`);
    if (pages[0] !== 1) fail("the page just written is not reported resident");
    if (!backend.capabilities.reportsResidency && pages.some((p) => p !== 1))
      fail("a backend without reportsResidency must report every page resident");
  } finally {
    m.unmap();
  }
  return backend.capabilities.reportsResidency
    ? { status: "ok" }
    : { status: "ok", detail: "every page reported resident (reportsResidency is false)" };
}

function lock(name: BackendName, file: string): ProbeResult {
  const { backend, m } = mapPages(name, file, 2, 0);
  try {
    try {
      m.lock();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOMEM" || code === "EPERM" || code === "EAGAIN")
        return {
          status: "skipped",
          detail: `the system refuses to lock 2 pages: ${(error as Error).message} (the locked-memory limit, ulimit -l)`,
        };
      throw error;
    }
    m[0] = 1;
    m.unlock();
  } finally {
    m.unmap();
  }
  return backend.capabilities.locksMemory
    ? { status: "ok" }
    : { status: "ok", detail: "accepted, pins nothing (locksMemory is false)" };
}

/** The in-process checks, in the order they run. */
export const probes: readonly Probe[] = [
  { name: "round trip", run: roundTrip },
  { name: "flushAsync", run: flushAsync },
  { name: "advise", run: advise },
  { name: "residency", run: residency },
  { name: "lock", run: lock },
];
