/**
 * Property tests of `MMapCursor` against the naive model of cursor-model.ts:
 * random sequences of seek, read, readByte, readline, write, writeByte, move,
 * find and rfind agree with it at every step (results, errors, the position
 * and every byte of the map), and find/rfind agree with a byte-by-byte search
 * for any start and end, negative, huge and omitted ones included.
 *
 * The seed is fixed (PORTABLE_MMAP_SEED) so that every run tries the same cases.
 */
import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { ANON, type MMap, MMapCursor, mapFile, mapRegion, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { CursorModel, type Outcome, pyFind, pyRfind } from "./cursor-model.js";
import { tempFile } from "./helpers.js";

const seed = Number(process.env.PORTABLE_MMAP_SEED || 20_251_205);

/** Bytes from a small alphabet (newlines included), so that searches and lines find something. */
const data = (max: number) =>
  fc.uint8Array({ minLength: 0, maxLength: max }).map((b) => b.map((x) => [0, 10, 97, 98][x % 4] as number));

/** An index or offset around a map of up to `max` bytes, out of range on both sides too. */
const index = (max: number) =>
  fc.oneof(fc.integer({ min: -max - 4, max: max + 4 }), fc.constantFrom(-(2 ** 40), 2 ** 40));

const ops = (max: number) =>
  fc.oneof(
    fc.record({
      op: fc.constant("seek" as const),
      pos: index(max),
      whence: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    }),
    fc.record({
      op: fc.constant("read" as const),
      n: fc.option(fc.integer({ min: -3, max: max + 3 }), { nil: undefined }),
    }),
    fc.record({ op: fc.constant("readByte" as const) }),
    fc.record({ op: fc.constant("readline" as const) }),
    fc.record({ op: fc.constant("write" as const), bytes: data(8) }),
    fc.record({ op: fc.constant("writeByte" as const), b: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant("move" as const), dest: index(max), src: index(max), count: index(max) }),
    fc.record({
      op: fc.constantFrom("find" as const, "rfind" as const),
      sub: data(3),
      start: fc.option(index(max), { nil: undefined }),
      end: fc.option(index(max), { nil: undefined }),
    }),
  );

/** A read-write map holding `bytes`: anonymous, or over an empty file where there are none (ANON maps cannot be empty). */
function mapOf(bytes: Uint8Array): MMap {
  if (bytes.length === 0) return mapFile(tempFile(""), { prot: RDWR });
  const m = mapRegion(null, bytes.length, RDWR, ANON);
  m.set(bytes);
  return m;
}

type Op = ReturnType<typeof ops> extends fc.Arbitrary<infer T> ? T : never;

/** Runs `body`, returning its result as the model's outcome would show it. */
function outcome(body: () => unknown): Outcome {
  try {
    const value = body();
    return { value: value instanceof Uint8Array ? Array.from(value) : value };
  } catch (error) {
    const e = error as Error & { code?: string };
    return { error: `${e.constructor.name} ${e.code}` };
  }
}

function step(c: MMapCursor, model: CursorModel, op: Op): [Outcome, Outcome] {
  switch (op.op) {
    case "seek":
      return [outcome(() => c.seek(op.pos, op.whence)), model.seek(op.pos, op.whence)];
    case "read":
      return [outcome(() => c.read(op.n)), model.read(op.n)];
    case "readByte":
      return [outcome(() => c.readByte()), model.readByte()];
    case "readline":
      return [outcome(() => c.readline()), model.readline()];
    case "write":
      return [outcome(() => c.write(op.bytes)), model.write(op.bytes)];
    case "writeByte":
      return [outcome(() => c.writeByte(op.b)), model.writeByte(op.b)];
    case "move":
      return [outcome(() => c.move(op.dest, op.src, op.count)), model.move(op.dest, op.src, op.count)];
    case "find":
      return [
        outcome(() => c.find(op.sub, op.start, op.end)),
        { value: pyFind(model.data, op.sub, model.pos, op.start, op.end) },
      ];
    case "rfind":
      return [
        outcome(() => c.rfind(op.sub, op.start, op.end)),
        { value: pyRfind(model.data, op.sub, model.pos, op.start, op.end) },
      ];
  }
}

describe("MMapCursor: properties", () => {
  test("random sequences of cursor calls agree with the model: results, errors, position and bytes", () => {
    fc.assert(
      fc.property(data(40), fc.array(ops(40), { maxLength: 30 }), (initial, sequence) => {
        const m = mapOf(initial);
        try {
          const c = new MMapCursor(m);
          const model = new CursorModel(Uint8Array.from(initial));
          for (const [i, op] of sequence.entries()) {
            const [real, expected] = step(c, model, op);
            assert.deepEqual(real, expected, `step ${i}: ${JSON.stringify(op)}`);
            assert.equal(c.tell(), model.pos, `position after step ${i}`);
            assert.deepEqual(Array.from(m), Array.from(model.data), `bytes after step ${i}`);
          }
        } finally {
          m.unmap();
        }
      }),
      { seed, numRuns: 150 },
    );
  });

  test("find and rfind agree with a byte-by-byte search for every start and end", () => {
    fc.assert(
      fc.property(
        data(64),
        fc.oneof(data(4), fc.integer({ min: 0, max: 255 })),
        fc.nat({ max: 64 }),
        fc.option(index(64), { nil: undefined }),
        fc.option(index(64), { nil: undefined }),
        (haystack, sub, at, start, end) => {
          const m = mapOf(haystack);
          try {
            const c = new MMapCursor(m);
            const pos = Math.min(at, haystack.length);
            c.seek(pos);
            const needle = typeof sub === "number" ? Uint8Array.of(sub) : sub;
            assert.equal(c.find(sub, start, end), pyFind(haystack, needle, pos, start, end), "find");
            assert.equal(c.rfind(sub, start, end), pyRfind(haystack, needle, pos, start, end), "rfind");
            assert.equal(c.tell(), pos, "the position does not move");
          } finally {
            m.unmap();
          }
        },
      ),
      { seed, numRuns: 400 },
    );
  });
});
