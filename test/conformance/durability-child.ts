/**
 * The child of durability.test.ts: writes through RDWR maps, flushes some of
 * it, writes more without flushing, prints "ready" and waits to be killed
 * with SIGKILL. Where each byte goes is in `layout`, which the test shares.
 */
import * as fs from "node:fs";
import { mapFile, mapRegion, RDWR } from "portable-mmap";

/** A multiple of every page size and allocation granularity. */
const page = 64 * 1024;

/** The file's size before the child grows it, and after. */
export const sizes = { before: 2 * page, after: 4 * page + 100 };

/** What the child stores where (file offsets), and whether it flushes it before "ready". */
export const layout = {
  /** Through the grown map, flushed with flush(range). */
  a: { from: 100, to: 5000, value: 0xa1, flushed: true },
  /** Through a second map at an unaligned offset, flushed whole with flush(). */
  d: { from: page + 1234, to: page + 3234, value: 0xd4, flushed: true },
  /** The same bytes of `d`, stored again after its flush: not flushed. */
  e: { from: page + 1234 + 1000, to: page + 3234, value: 0xe5, flushed: false },
  /** Through the grown map, flushed with await flushAsync(range). */
  c: { from: 2 * page + 10, to: 2 * page + 500, value: 0xc3, flushed: true },
  /** Through the grown map, in the part the growth added: not flushed. */
  b: { from: 3 * page + 7, to: 4 * page + 50, value: 0xb2, flushed: false },
} as const;

/** The file is `sizes.before` bytes of 0x41; never returns: the parent kills the process. */
export async function durability(file: string): Promise<never> {
  const { a, b, c, d, e } = layout;
  const grown = mapFile(file, { prot: RDWR, length: sizes.after, grow: true });
  grown.fill(a.value, a.from, a.to);
  grown.flush({ offset: a.from, length: a.to - a.from });

  const fd = fs.openSync(file, "r+");
  const second = mapRegion(fd, d.to - d.from, RDWR, 0, d.from); // kept open: the fallback may need it (Windows)
  second.fill(d.value);
  second.flush();
  second.fill(e.value, e.from - d.from);

  grown.fill(c.value, c.from, c.to);
  await grown.flushAsync({ offset: c.from, length: c.to - c.from });
  grown.fill(b.value, b.from, b.to);

  console.log("ready");
  // Hold the maps until the end: nothing may be unmapped (or collected) before the kill.
  setInterval(() => void [grown, second], 1000);
  return new Promise<never>(() => {});
}
