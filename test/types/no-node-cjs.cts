/**
 * The published CommonJS types (dist/index.d.cts) without `@types/node`:
 * compiled with tsconfig.no-node.json by scripts/type-tests.mjs. Never run.
 */
import mmap = require("portable-mmap");

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
function expectType<T extends true>(_proof?: T): void {}

function withoutNode(fd: number): void {
  const m = mmap.mapRegion(fd, 10, mmap.COPY | mmap.EXEC);
  expectType<Equal<typeof m, mmap.MMap>>();
  const bytes: Uint8Array = m.asBuffer();
  expectType<Equal<typeof bytes.length, number>>();
  mmap.mapFile("data.bin", { prot: mmap.RDWR, grow: true, length: 4096 });
  const read: Uint8Array = new mmap.MMapCursor(m).read();
  expectType<Equal<typeof read.length, number>>();
  m[Symbol.dispose]();
  mmap.mapRegion(null, 4096, mmap.RDWR, mmap.ANON | mmap.POPULATE);
  mmap.mapFile("data.bin", { flags: mmap.POPULATE, populate: true });
  // @ts-expect-error 4 is no flag
  mmap.mapRegion(fd, 10, mmap.RDONLY, 4);
}

export = { withoutNode };
