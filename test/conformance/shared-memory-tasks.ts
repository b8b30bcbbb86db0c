/**
 * What the shared-memory tests ask of their child processes (child.ts
 * `shm-*` commands) and worker threads (worker.ts `shm-add`): open a segment
 * by name, read or write it, count with Atomics.
 */
import { openSharedMemory } from "portable-mmap";

/** Int32 slots of a counting segment. */
export const SLOT = { total: 0, ready: 1 } as const;

/**
 * Opens the segment `name`, says it is ready (Atomics.add on `ready`), waits
 * until `parties` are (polling the flag in the segment: Atomics.wait cannot
 * wake another process), then does `count` Atomics.add of 1 on `total`.
 * The wait gives up after 30 s, so that a party that never comes only makes
 * the counts overlap less.
 */
export function addInSegment(name: string, parties: number, count: number): { backend: string; added: number } {
  const m = openSharedMemory(name);
  try {
    const slots = new Int32Array(m.buffer, m.byteOffset, 2);
    Atomics.add(slots, SLOT.ready, 1);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 30_000;
    while (Atomics.load(slots, SLOT.ready) < parties && Date.now() < until) Atomics.wait(pause, 0, 0, 1);
    for (let i = 0; i < count; i++) Atomics.add(slots, SLOT.total, 1);
    return { backend: m.backend, added: count };
  } finally {
    m.unmap();
  }
}

/**
 * Opens the segment `name` (its whole size), checks that bytes
 * `[0, half)` are `(i * 7 + seed) & 255`, and writes `(i * 3 + seed) & 255`
 * over `[half, 2 * half)`: the parent checks it sees them.
 */
export function exchange(name: string, seed: number): Record<string, unknown> {
  const m = openSharedMemory(name);
  try {
    const half = m.length >> 1;
    let mismatch = -1;
    for (let i = 0; i < half && mismatch < 0; i++) if (m[i] !== ((i * 7 + seed) & 255)) mismatch = i;
    for (let i = half; i < 2 * half; i++) m[i] = (i * 3 + seed) & 255;
    return { length: m.length, fileSize: m.fileSize(), mismatch };
  } finally {
    m.unmap();
  }
}
