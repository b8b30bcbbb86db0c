/**
 * Model-based test: random sequences of maps (any offset, RDONLY, RDWR,
 * COPY, with mapRegion and mapFile), stores through maps, `fs` writes,
 * flushes of ranges, flushAsync, unmap (also during a flushAsync), re-maps
 * and growth past the end of the file, each checked against the model of
 * model.ts right after it runs: real backends by the page cache's rules,
 * the fallback by its documented ones.
 *
 * The seed is fixed (PORTABLE_MMAP_SEED, default below) so that every run of
 * the suite tries the same sequences, in the same order;
 * PORTABLE_MMAP_MODEL_RUNS raises their number. They take about a second per
 * backend here; where the host is much slower (qemu: some 50 times) the test
 * stops starting new ones after PORTABLE_MMAP_MODEL_SECONDS and says how many
 * ran. A failure prints the seed, fast-check's shrunk counterexample and the
 * steps it ran with every value resolved.
 */
import * as fs from "node:fs";
import * as fc from "fast-check";
import { pageSize } from "portable-mmap";
import { describe, test } from "vitest";
import { backendName, caps, tempFile } from "./helpers.js";
import { FileModel } from "./model.js";
import { alphabet, commands, type Real } from "./model-commands.js";

const DEFAULT_SEED = 20_240_617;
const seed = Number(process.env.PORTABLE_MMAP_SEED || DEFAULT_SEED);
const runs = Number(process.env.PORTABLE_MMAP_MODEL_RUNS || 25);
const seconds = Number(process.env.PORTABLE_MMAP_MODEL_SECONDS || 20);

/** The initial contents: `size` bytes of the stores' alphabet, in a pattern set by `shift`. */
function contents(size: number, shift: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = alphabet[(Math.floor(i / 3) + shift) % alphabet.length] as number;
  return bytes;
}

/** Unmaps what a sequence left mapped and closes the descriptor; a failure here must not hide the sequence's. */
function cleanUp(real: Real): void {
  for (const m of real.maps) {
    try {
      m.unmap();
    } catch {
      // the sequence's own outcome is what counts
    }
  }
  fs.closeSync(real.fd);
}

describe("model-based", () => {
  test(`random sequences of maps, stores, fs writes, flushes and unmaps agree with the model at every step`, async () => {
    let steps = 0;
    let sequences = 0;
    const property = fc.asyncProperty(
      fc.integer({ min: 0, max: 5 * 4096 + 100 }),
      fc.nat({ max: 3 }),
      fc.commands(commands, { maxCommands: 30, size: "max" }),
      async (size, shift, sequence) => {
        sequences++;
        const initial = contents(size, shift);
        const path = tempFile(initial);
        const model = new FileModel(caps.sharesPageCache, pageSize(), initial);
        const real: Real = { path, fd: fs.openSync(path, "r+"), maps: [] };
        try {
          await fc.asyncModelRun(() => ({ model, real }), sequence);
        } finally {
          steps += model.log.length;
          cleanUp(real);
        }
      },
    );
    try {
      await fc.assert(property, { seed, numRuns: runs, plugins: [fc.interruptAfterTimeLimit(seconds * 1000)] });
    } catch (error) {
      // fast-check's report (seed, path, shrunk counterexample), then what the shrunk sequence saw.
      const cause = (error as Error).cause;
      const saw = cause instanceof Error ? `\n${cause.message}` : "";
      throw new Error(
        `the model-based test failed with seed ${seed} (PORTABLE_MMAP_SEED=${seed} replays it)\n${(error as Error).message}${saw}`,
      );
    }
    const cut = sequences < runs ? ` (of ${runs}: the ${seconds} s limit)` : "";
    console.log(`# model[${backendName}]: seed ${seed}, ${sequences} sequences${cut}, ${steps} steps checked`);
  });
});
