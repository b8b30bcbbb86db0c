/**
 * The published types without `@types/node`: compiled by
 * scripts/type-tests.mjs with tsconfig.no-node.json (no type packages, no DOM,
 * no ESNext.Disposable, declaration files checked), which also checks that
 * no `@types/node` file was loaded. Never run.
 */
import {
  ANON,
  COPY,
  EXEC,
  type FileLike,
  type MMap,
  MMapCursor,
  map,
  mapFile,
  mapRegion,
  POPULATE,
  type Prot,
  RDWR,
} from "portable-mmap";

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
function expectType<T extends true>(_proof?: T): void {}

export function withoutNode(fd: number, handle: { readonly fd: number }): void {
  const m = map(fd, RDWR | EXEC);
  expectType<Equal<typeof m, MMap>>();
  expectType<Equal<typeof m.prot, Prot>>();
  // A FileHandle is anything with a descriptor in fd.
  const file: FileLike = handle;
  mapRegion(file, 10, COPY);
  mapRegion(null, 4096, RDWR, ANON);
  mapRegion(fd, 10, COPY, POPULATE);
  map(fd, RDWR, POPULATE);
  mapFile("data.bin", { populate: true });
  // A path as a string or its bytes.
  mapFile("data.bin", { prot: RDWR, grow: true, length: 4096 });
  mapFile(new Uint8Array([100, 97, 116, 97]));
  // asBuffer() gives a Uint8Array where no Buffer type is declared.
  const bytes: Uint8Array = m.asBuffer();
  expectType<Equal<typeof bytes.length, number>>();
  // The cursor's copies are Uint8Arrays where no Buffer type is declared.
  const line: Uint8Array = new MMapCursor(m).readline();
  expectType<Equal<typeof line.length, number>>();
  // Symbol.dispose is declared by the package's types, as @types/node declares it.
  m[Symbol.dispose]();
  // @ts-expect-error 3 is no protection
  map(fd, 3);
  // @ts-expect-error an unknown option key
  mapFile("data.bin", { prot: RDWR, grwo: true });
  // @ts-expect-error ANON is no flag of map()
  map(fd, RDWR, ANON);
}
