/** Garbage collection for the suite's child processes. */

/** A full, synchronous garbage collection: V8's `gc` (--expose-gc), or Bun's `Bun.gc(true)`. */
export function forceGc(): (() => void) | undefined {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.gc) return g.gc;
  const bun = g.Bun;
  if (bun) return () => bun.gc(true);
  return undefined;
}

/** Collects and lets finalizers and FinalizationRegistry callbacks run, `rounds` times. */
export async function collectGarbage(rounds = 10): Promise<void> {
  const gc = forceGc();
  if (!gc) throw new Error("run with --expose-gc (Deno: --v8-flags=--expose-gc)");
  for (let round = 0; round < rounds; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
