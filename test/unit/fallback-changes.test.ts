/**
 * The fallback's change finder (`src/backends/fallback/changes.ts`): the runs
 * it reports are exactly the maximal runs of bytes that differ, in order, and
 * afterwards the copy equals the memory. Changes are placed around its block
 * (1 MiB) and page boundaries, where a hierarchical compare could slip.
 * Property-based, with a fixed seed printed on failure.
 */
import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { describe, test } from "vitest";
import { forEachChange } from "../../src/backends/fallback/changes.js";

const seed = Number(process.env.PORTABLE_MMAP_SEED || 20240617);
const SIZE = 3 * 2 ** 20 + 12345; // three blocks and a partial one
const BOUNDARIES = [0, 4095, 4096, 2 ** 20 - 1, 2 ** 20, 2 ** 20 + 1, 2 * 2 ** 20 - 3, 3 * 2 ** 20, SIZE - 1];

/** The maximal runs where `a` and `b` differ inside `[from, to)`, the slow obvious way. */
function expectedRuns(a: Uint8Array, b: Uint8Array, from: number, to: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = from; i < to; i++) {
    if (a[i] === b[i]) continue;
    const start = i;
    while (i < to && a[i] !== b[i]) i++;
    runs.push([start, i]);
  }
  return runs;
}

const change = fc.record({
  at: fc.oneof(fc.constantFrom(...BOUNDARIES), fc.integer({ min: 0, max: SIZE - 1 })),
  length: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 3 * 4096 })),
});

describe("fallback change finder", () => {
  test("reports exactly the runs that differ, in order, and updates the copy", () => {
    const known = new Uint8Array(SIZE);
    const current = new Uint8Array(SIZE);
    fc.assert(
      fc.property(fc.array(change, { maxLength: 12 }), fc.constantFrom(0, 4096, 2 ** 20), (changes, offset) => {
        known.fill(7);
        current.fill(7);
        for (const { at, length } of changes) current.fill(9, at, Math.min(SIZE, at + length));
        const length = SIZE - offset;
        const want = expectedRuns(current, known, offset, SIZE);
        const got: [number, number][] = [];
        forEachChange(current, known, offset, length, (start, end) => got.push([start, end]));
        assert.deepEqual(got, want);
        assert.equal(
          Buffer.compare(current.subarray(offset), known.subarray(offset)),
          0,
          "the copy equals the memory in the range",
        );
        assert.ok(
          known.subarray(0, offset).every((b) => b === 7),
          "the copy is not touched before the range",
        );
      }),
      { seed, numRuns: 60 },
    );
  });

  test("nothing changed: no run", () => {
    const a = new Uint8Array(SIZE).fill(3);
    const runs: number[] = [];
    forEachChange(a, a.slice(), 0, SIZE, (start) => runs.push(start));
    assert.deepEqual(runs, []);
  });
});
