/**
 * Type tests of the published ESM types (dist/index.d.ts), compiled by
 * scripts/type-tests.mjs and never run. Each `@ts-expect-error` line must be
 * a type error (tsc fails on one that is not), and each `expectType` must hold.
 */
import { open } from "node:fs/promises";
import {
  type Advice,
  ANON,
  adviceSupported,
  COPY,
  EXEC,
  type FileLike,
  type FileMapFlags,
  type MapFileOptions,
  type MapFlags,
  MMap,
  MMapCursor,
  MmapSystemError,
  map,
  mapFile,
  mapRegion,
  openSharedMemory,
  type PageProt,
  POPULATE,
  type Prot,
  RDONLY,
  RDWR,
  type ResizeOptions,
  SEEK_END,
  type SharedMemoryOptions,
  type SharedProt,
  unlinkSharedMemory,
  type Whence,
} from "portable-mmap";

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
function expectType<T extends true>(_proof?: T): void {}

export async function positive(fd: number): Promise<void> {
  // Every prot, alone and with EXEC; the bitwise combinations are plain numbers to TypeScript.
  map(fd);
  map(fd, RDONLY);
  map(fd, RDWR);
  map(fd, COPY);
  map(fd, RDONLY | EXEC);
  map(fd, RDWR | EXEC);
  map(fd, COPY | EXEC);
  map(fd, RDWR, 0);
  map(fd, 10); // RDWR | EXEC written as its value
  const chosen = fd > 2 ? RDWR : RDONLY;
  map(fd, chosen);
  const computed: number = RDWR;
  map(fd, computed);
  mapRegion(null, 4096, RDWR, ANON);
  mapRegion(fd, 10n, COPY | EXEC, 0, 4096n);
  mapRegion(fd, -1, RDONLY, 0, 3);

  // POPULATE: every flag mapRegion takes, alone and combined; map and mapFile take 0 or POPULATE.
  mapRegion(fd, 10, RDONLY, POPULATE);
  mapRegion(null, 4096, RDWR, ANON | POPULATE); // a plain number to TypeScript, checked at run time
  mapRegion(null, 4096, RDWR, 3); // ANON | POPULATE written as its value
  mapRegion(fd, 10, RDONLY, 2);
  map(fd, RDONLY, POPULATE);
  map(fd, COPY, 2);
  map(fd, RDWR, fd > 2 ? POPULATE : 0);
  mapFile("data.bin", { flags: POPULATE });
  mapFile("data.bin", { prot: RDWR, populate: true, grow: true, length: 4096 });
  mapFile("data.bin", { flags: 0, populate: false });
  const populated: MapFileOptions = { prot: COPY, flags: POPULATE };
  mapFile("data.bin", populated);
  const wanted: FileMapFlags = POPULATE;
  map(fd, RDONLY, wanted);
  mapFile("data.bin", { flags: wanted });
  expectType<Equal<typeof POPULATE, 2>>();

  // FileLike: a descriptor or a FileHandle.
  const handle = await open("data.bin");
  map(handle, RDONLY);
  const file: FileLike = handle;
  mapRegion(file, 10);

  // mapFile: every path type fs takes, and every option.
  mapFile("data.bin");
  mapFile(new URL("file:///data.bin"), { prot: COPY });
  mapFile(Buffer.from("data.bin"));
  mapFile("data.bin", { prot: RDWR, flags: 0, offset: 4096n, length: 1 << 20, grow: true });
  mapFile("data.bin", { prot: RDWR | EXEC });
  const options: MapFileOptions = { prot: COPY, length: 10 };
  mapFile("data.bin", options);
  // An annotated options object with a computed protection (Installing's and the README's examples).
  const computedOptions: MapFileOptions = { prot: RDWR | EXEC, grow: true };
  mapFile("data.bin", computedOptions);
  // Generic wrappers that pass on a Prot (or MapFlags) they were given.
  const wrapMap = <P extends Prot>(prot: P) => map(fd, prot);
  const wrapRegion = <P extends Prot, F extends MapFlags>(prot: P, flags: F) => mapRegion(fd, 10, prot, flags);
  const wrapFile = <P extends Prot>(prot: P) => mapFile("data.bin", { prot });
  const wrapMapFlags = <P extends Prot, F extends FileMapFlags>(prot: P, flags: F) => map(fd, prot, flags);
  const wrapFileFlags = <F extends FileMapFlags>(flags: F) => mapFile("data.bin", { flags });
  expectType<Equal<ReturnType<typeof wrapMapFlags>, MMap>>();
  expectType<Equal<ReturnType<typeof wrapFileFlags>, MMap>>();
  expectType<Equal<ReturnType<typeof wrapMap>, MMap>>();
  expectType<Equal<ReturnType<typeof wrapRegion>, MMap>>();
  expectType<Equal<ReturnType<typeof wrapFile>, MMap>>();

  // Return types.
  const m = mapFile("data.bin", { prot: RDWR });
  expectType<Equal<typeof m, MMap>>();
  expectType<Equal<ReturnType<typeof map>, MMap>>();
  expectType<Equal<ReturnType<typeof mapRegion>, MMap>>();
  expectType<Equal<typeof m.prot, Prot>>();
  expectType<Equal<typeof m.flags, MapFlags>>();
  expectType<Equal<Prot, 0 | 2 | 4 | 8 | 10 | 12>>();
  expectType<Equal<PageProt, 0 | 2 | 8 | 10>>();
  expectType<Equal<MapFlags, 0 | 1 | 2 | 3>>();
  expectType<Equal<FileMapFlags, 0 | 2>>();
  expectType<Equal<ReturnType<MMap["asBuffer"]>, Buffer<ArrayBuffer>>>();
  expectType<Equal<ReturnType<MMap["flushAsync"]>, Promise<void>>>();
  expectType<Equal<ReturnType<MMap["residency"]>, Uint8Array>>();
  const view: Uint8Array = m;
  expectType<Equal<typeof view.length, number>>();
  m.protect(RDONLY);
  m.protect(RDWR | EXEC);
  m.protect(m.prot === COPY ? RDONLY : RDWR);
  m.advise("willneed", { offset: 0, length: 10 });
  m.flush();
  await m.flushAsync({ offset: 4096 });
  // resize, fileSize, keepOpen, adviceSupported.
  const kept = mapFile("data.bin", { prot: RDWR, keepOpen: true });
  const grown = kept.resize(8192);
  expectType<Equal<typeof grown, MMap>>();
  const truncating: ResizeOptions = { truncate: true };
  grown.resize(10n, truncating);
  expectType<Equal<ReturnType<MMap["fileSize"]>, number>>();
  const advice: Advice = "willneed";
  expectType<Equal<ReturnType<typeof adviceSupported>, boolean>>();
  if (adviceSupported(advice)) m.advise(advice);
  // The file-like cursor: copies are Buffers; seek takes a Whence; find a string, bytes or a byte.
  const cursor = new MMapCursor(m);
  expectType<Equal<ReturnType<MMapCursor["read"]>, Buffer<ArrayBuffer>>>();
  expectType<Equal<typeof cursor.map, MMap>>();
  const whence: Whence = SEEK_END;
  cursor.seek(-4, whence);
  cursor.find("needle", null, -1);
  cursor.rfind(new Uint8Array([1, 2]));
  cursor.find(0x0a);
  cursor.write("text");
  for (const line of cursor) expectType<Equal<typeof line, Buffer<ArrayBuffer>>>();
  // @ts-expect-error 3 is no whence
  cursor.seek(0, 3);
  // @ts-expect-error a cursor is made over an MMap only
  new MMapCursor(new Uint8Array(4));
  {
    using scoped = map(fd);
    expectType<Equal<typeof scoped, MMap>>();
  }

  // Errors.
  const error: unknown = undefined;
  if (error instanceof MmapSystemError) {
    expectType<Equal<typeof error.code, string>>();
    expectType<Equal<typeof error.errno, number>>();
    expectType<Equal<typeof error.syscall, string>>();
    expectType<Equal<typeof error.path, string | undefined>>();
  }
}

export function negative(fd: number, m: MMap): void {
  // @ts-expect-error 3 is no protection
  map(fd, 3);
  // @ts-expect-error ANON is a flag, not a protection
  map(fd, ANON);
  // @ts-expect-error RDWR | ANON written as its value
  mapRegion(fd, 10, 3);
  // @ts-expect-error 4 is no flag
  mapRegion(fd, 10, RDONLY, 4);
  // @ts-expect-error map() cannot take ANON: it needs a length
  map(fd, RDONLY, ANON);
  // @ts-expect-error nor ANON | POPULATE, written as its value
  map(fd, RDONLY, 3);
  // @ts-expect-error a string flag
  map(fd, RDONLY, "2");
  // @ts-expect-error a string prot
  map(fd, "2");
  // @ts-expect-error a path is not a FileLike
  map("data.bin");
  // @ts-expect-error a string length
  mapRegion(fd, "10");
  // @ts-expect-error an object without fd
  mapRegion({ handle: 3 }, 10);
  // @ts-expect-error mapFile takes a path, not a descriptor
  mapFile(fd);
  // @ts-expect-error 3 is no protection
  mapFile("data.bin", { prot: 3 });
  // @ts-expect-error 4 is no flag
  mapFile("data.bin", { flags: 4 });
  // @ts-expect-error mapFile() cannot take ANON
  mapFile("data.bin", { flags: ANON });
  // @ts-expect-error nor ANON | POPULATE, written as its value
  mapFile("data.bin", { flags: 3 });
  // @ts-expect-error populate is a boolean
  mapFile("data.bin", { populate: "yes" });
  // @ts-expect-error an annotated options object keeps flags to 0 or POPULATE
  const badFlags: MapFileOptions = { flags: 1 };
  mapFile("data.bin", badFlags);
  // @ts-expect-error an unknown option key
  mapFile("data.bin", { prot: RDWR, grwo: true });
  // @ts-expect-error an unknown option key, alone
  mapFile("data.bin", { mode: "r" });
  // @ts-expect-error grow is a boolean
  mapFile("data.bin", { grow: "yes" });
  // @ts-expect-error a string prot
  mapFile("data.bin", { prot: "2" });
  // @ts-expect-error a string offset
  mapFile("data.bin", { offset: "0" });
  // @ts-expect-error 7 is no protection, in a literal passed inline
  mapFile("data.bin", { prot: 7 });
  // @ts-expect-error COPY cannot be set by protect()
  m.protect(COPY);
  // @ts-expect-error nor can COPY | EXEC, written as its value
  m.protect(12);
  // @ts-expect-error 3 is no protection
  m.protect(3);
  // @ts-expect-error an unknown advice
  m.advise("never");
  // @ts-expect-error prot is read-only
  m.prot = RDWR;
  // @ts-expect-error maps are made by map(), mapRegion() and mapFile()
  new MMap(10);
  // @ts-expect-error an unknown range key
  m.flush({ start: 0 });
  // @ts-expect-error keepOpen is a boolean
  mapFile("data.bin", { keepOpen: 1 });
  // @ts-expect-error a string length
  m.resize("10");
  // @ts-expect-error truncate is a boolean
  m.resize(10, { truncate: "yes" });
  // @ts-expect-error an unknown resize option
  m.resize(10, { shrink: true });
  // @ts-expect-error an unknown advice
  adviceSupported("free");
}

export function sharedMemory(): void {
  const m: MMap = openSharedMemory("/x", { size: 4096, create: true, exclusive: true });
  openSharedMemory("x");
  openSharedMemory("x", { prot: RDONLY, size: 10n });
  openSharedMemory("x", { prot: COPY });
  const options: SharedMemoryOptions = { size: 1, create: true, prot: RDWR };
  openSharedMemory("x", options);
  const wrap = <P extends SharedProt>(prot: P) => openSharedMemory("x", { prot });
  wrap(RDWR);
  unlinkSharedMemory("x");
  m.unmap();
  // @ts-expect-error EXEC is not a protection of shared memory
  openSharedMemory("x", { prot: 8 });
  // @ts-expect-error 3 is no protection
  openSharedMemory("x", { prot: 3 });
  // @ts-expect-error an unknown option
  openSharedMemory("x", { length: 1 });
  // @ts-expect-error the name is a string
  openSharedMemory(1);
  // @ts-expect-error the name is a string
  unlinkSharedMemory(new URL("file:///x"));
}
