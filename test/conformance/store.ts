/**
 * Stores bytes into an RDWR map of a descriptor, flushes, and reports what
 * reached the file, for the tests of fallback-data.test.ts and their child
 * processes (child.ts).
 */
import * as fs from "node:fs";
import { type MMap, map, RDWR } from "portable-mmap";

/** The test files' contents: bytes the stored value differs from. */
export const contents: Buffer = Buffer.alloc(10_000, 0x41);

/** Where the tests store, in different pages of `contents`, and what. */
export const positions: number[] = [1, 5000, 9998];
export const stored = 0xab;

/** What became of bytes stored into an RDWR map and flushed. */
export interface StoreResult {
  /** Where it ended: `map` or `flush` refused (with `code`), or the bytes were `written` and the map unmapped. */
  step: "map" | "flush" | "written";
  code?: string;
  /** After a refused flush: the code of a second flush. */
  again?: string;
  /** The file's size afterwards. */
  size: number;
  /** The file's bytes at the positions afterwards, read through the descriptor. */
  bytes: number[];
}

/** Maps `fd` RDWR, stores `value` at each of `positions`, flushes, and unmaps if the flush worked. */
export function storeAndFlush(fd: number, positions: number[], value: number): StoreResult {
  const look = () => ({
    size: fs.fstatSync(fd).size,
    bytes: positions.map((p) => {
      const one = Buffer.alloc(1);
      fs.readSync(fd, one, 0, 1, p);
      return one[0] as number;
    }),
  });
  let m: MMap;
  try {
    m = map(fd, RDWR);
  } catch (error) {
    return { step: "map", code: (error as { code?: string }).code, ...look() };
  }
  for (const p of positions) m[p] = value;
  try {
    m.flush();
  } catch (error) {
    let again: string | undefined;
    try {
      m.flush();
    } catch (second) {
      again = (second as { code?: string }).code;
    }
    // The map stays mapped (unmap would flush again and fail); the bytes go with the garbage.
    return { step: "flush", code: (error as { code?: string }).code, again, ...look() };
  }
  m.unmap();
  return { step: "written", ...look() };
}
