/**
 * Type tests of the published CommonJS types (dist/index.d.cts, what
 * `require("portable-mmap")` gets), compiled by scripts/type-tests.mjs and
 * never run. Each `@ts-expect-error` line must be a type error, and each
 * `expectType` must hold.
 */
import mmap = require("portable-mmap");

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
function expectType<T extends true>(_proof?: T): void {}

function positive(fd: number): void {
  const m = mmap.map(fd, mmap.RDWR | mmap.EXEC);
  expectType<Equal<typeof m, mmap.MMap>>();
  expectType<Equal<typeof m.prot, mmap.Prot>>();
  mmap.map(fd, mmap.COPY);
  mmap.mapRegion(null, 4096, mmap.RDWR, mmap.ANON);
  mmap.mapRegion(null, 4096, mmap.RDWR, mmap.ANON | mmap.POPULATE);
  mmap.map(fd, mmap.RDONLY, mmap.POPULATE);
  mmap.mapFile("data.bin", { flags: mmap.POPULATE });
  mmap.mapFile("data.bin", { populate: true });
  const flags: mmap.FileMapFlags = mmap.POPULATE;
  expectType<Equal<typeof mmap.POPULATE, 2>>();
  mmap.map(fd, mmap.RDONLY, flags);
  const file = mmap.mapFile("data.bin", { prot: mmap.RDWR, grow: true, length: 4096 });
  expectType<Equal<typeof file, mmap.MMap>>();
  expectType<Equal<ReturnType<mmap.MMap["asBuffer"]>, Buffer<ArrayBuffer>>>();
  const cursor = new mmap.MMapCursor(file);
  expectType<Equal<ReturnType<typeof cursor.readline>, Buffer<ArrayBuffer>>>();
  cursor.seek(0, mmap.SEEK_END);
  const options: mmap.MapFileOptions = { prot: mmap.COPY };
  mmap.mapFile("data.bin", options);
}

function negative(fd: number): void {
  // @ts-expect-error 3 is no protection
  mmap.map(fd, 3);
  // @ts-expect-error 4 is no flag
  mmap.mapRegion(fd, 10, mmap.RDONLY, 4);
  // @ts-expect-error map() takes no ANON
  mmap.map(fd, mmap.RDONLY, mmap.ANON);
  // @ts-expect-error populate is a boolean
  mmap.mapFile("data.bin", { populate: 1 });
  // @ts-expect-error an unknown option key
  mmap.mapFile("data.bin", { prot: mmap.RDWR, grwo: true });
  // @ts-expect-error 3 is no protection
  mmap.mapFile("data.bin", { prot: 3 });
  // @ts-expect-error length is a number or bigint
  mmap.mapFile("data.bin", { length: "1" });
}

export = { positive, negative };
