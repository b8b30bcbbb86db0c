/**
 * The commands of the model-based test (model.test.ts): each does one thing
 * to the real file and maps and the same to the model (model.ts), then checks
 * that they agree. Commands carry raw numbers that are resolved against the
 * state when they run (which map, where in it), so that every shrunk
 * sequence still makes sense; the resolved step goes into `model.log`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fc from "fast-check";
import { COPY, type MMap, mapFile, mapRegion, RDONLY, RDWR } from "portable-mmap";
import { caps } from "./helpers.js";
import type { FileModel, MapModel, Prot } from "./model.js";

/** The system under test: the file, a descriptor of it, and the live maps, in the model's order. */
export interface Real {
  readonly path: string;
  readonly fd: number;
  readonly maps: MMap[];
}

type Command = fc.AsyncCommand<FileModel, Real>;

/** At most this many live maps, and a file of at most this many bytes. */
const MAX_MAPS = 6;
const MAX_SIZE = 48 * 1024;

const prots: Record<Prot, number> = { RDONLY, RDWR, COPY };

/** Values stores are made of: few, so that a store often writes what a map read (the fallback's rule). */
export const alphabet = [0x00, 0x41, 0x42, 0xff];

/** Bytes to store, printed short. */
class Data {
  constructor(readonly bytes: Uint8Array) {}
  toString(): string {
    const first = this.bytes[0] as number;
    if (this.bytes.every((b) => b === first)) return `${this.bytes.length}x${first.toString(16)}`;
    return Buffer.from(this.bytes).toString("hex");
  }
}

const data: fc.Arbitrary<Data> = fc.oneof(
  fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 24 }).map((a) => new Data(Uint8Array.from(a))),
  // Runs long enough to cross pages.
  fc
    .tuple(fc.constantFrom(...alphabet), fc.integer({ min: 1, max: 9000 }))
    .map(([value, n]) => new Data(new Uint8Array(n).fill(value))),
);

/** The first difference of two byte arrays, described; undefined when equal. */
function difference(got: Uint8Array, want: Uint8Array): string | undefined {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  const at = got.findIndex((b, i) => b !== want[i]);
  if (at < 0) return undefined;
  const end = Math.min(got.length, at + 8);
  return `byte ${at}: ${Buffer.from(got.subarray(at, end)).toString("hex")}..., expected ${Buffer.from(want.subarray(at, end)).toString("hex")}...`;
}

/** Checks the file and every live map against the model, after the step just logged. */
function verify(m: FileModel, r: Real): void {
  const problems: string[] = [];
  const file = difference(fs.readFileSync(r.path), m.file);
  if (file) problems.push(`the file: ${file}`);
  m.maps.forEach((mm, i) => {
    const got = r.maps[i] as MMap;
    const diff = difference(got, m.expected(mm));
    if (diff) problems.push(`${m.describe(mm)}: ${diff}`);
  });
  if (problems.length > 0) {
    const steps = m.log.map((line, i) => `  ${i + 1}. ${line}`).join("\n");
    assert.fail(`after step ${m.log.length}, ${problems.join("; ")}\nsteps, as run:\n${steps}`);
  }
}

/** The index of the live map `pick` designates among those `accept` allows; undefined if none. */
function choose(m: FileModel, pick: number, accept: (mm: MapModel) => boolean = () => true): number | undefined {
  const candidates = m.maps.flatMap((mm, i) => (accept(mm) ? [i] : []));
  return candidates.length === 0 ? undefined : candidates[pick % candidates.length];
}

/** A map of a region of the file (any offset, aligned or not), with mapRegion or mapFile. */
class MapCommand implements Command {
  constructor(
    readonly prot: Prot,
    readonly via: "mapRegion" | "mapFile",
    readonly offsetArg: number,
    readonly lengthArg: number,
    readonly toEnd: boolean,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.maps.length < MAX_MAPS;
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const offset = this.offsetArg % (m.size + 1);
    const rest = m.size - offset;
    const length = this.toEnd ? rest : this.lengthArg % (rest + 1);
    const asked = this.toEnd ? -1 : length;
    const prot = prots[this.prot];
    const made =
      this.via === "mapRegion"
        ? mapRegion(r.fd, asked, prot, 0, offset)
        : mapFile(r.path, { prot, offset, length: asked });
    r.maps.push(made);
    const mm = m.map(this.prot, offset, length);
    m.log.push(`${this.via} ${this.prot} offset ${offset} length ${asked}: ${m.describe(mm)}`);
    verify(m, r);
  }
  toString(): string {
    return `map(${this.prot},${this.via},${this.offsetArg},${this.toEnd ? "end" : this.lengthArg})`;
  }
}

/** mapFile RDWR with grow: true over a region that ends past the end of the file (maybe past a gap). */
class GrowCommand implements Command {
  constructor(
    readonly offsetArg: number,
    readonly extraArg: number,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.maps.length < MAX_MAPS && m.size < MAX_SIZE - 20_000;
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const offset = this.offsetArg % (m.size + 8193);
    const length = Math.max(0, m.size - offset) + 1 + (this.extraArg % 9000);
    r.maps.push(mapFile(r.path, { prot: RDWR, offset, length, grow: true }));
    m.grow(offset + length);
    const mm = m.map("RDWR", offset, length);
    m.log.push(`mapFile RDWR grow offset ${offset} length ${length}: ${m.describe(mm)}, file now ${m.size} bytes`);
    verify(m, r);
  }
  toString(): string {
    return `grow(${this.offsetArg},${this.extraArg})`;
  }
}

/** A store into a map (RDONLY and COPY ones included: their writes stay private). */
class MapWriteCommand implements Command {
  constructor(
    readonly pick: number,
    readonly atArg: number,
    readonly data: Data,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.maps.some((mm) => mm.length > 0);
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const i = choose(m, this.pick, (mm) => mm.length > 0) as number;
    const mm = m.maps[i] as MapModel;
    const at = this.atArg % mm.length;
    const bytes = this.data.bytes.subarray(0, mm.length - at);
    const target = r.maps[i] as MMap;
    if (!target.pagesWritable) {
      // A read-only map under strict overcommit: a store would fault (documented), so none is made.
      m.log.push(`no store into ${m.describe(mm)}: its pages are read-only here`);
      return;
    }
    target.set(bytes, at);
    m.mapWrite(mm, at, bytes);
    m.log.push(`store ${new Data(bytes)} at ${at} into ${m.describe(mm)}`);
    verify(m, r);
  }
  toString(): string {
    return `store(${this.pick},${this.atArg},${this.data})`;
  }
}

/** `fs.writeSync` at an offset of the file (maybe extending it). */
class FsWriteCommand implements Command {
  constructor(
    readonly positionArg: number,
    readonly data: Data,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.size + this.data.bytes.length <= MAX_SIZE;
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const position = this.positionArg % (m.size + 1);
    const bytes = this.data.bytes;
    fs.writeSync(r.fd, bytes, 0, bytes.length, position);
    m.fsWrite(position, bytes);
    m.log.push(`fs.writeSync ${this.data} at ${position}, file now ${m.size} bytes`);
    verify(m, r);
  }
  toString(): string {
    return `write(${this.positionArg},${this.data})`;
  }
}

/** flush or await flushAsync of a map, whole or a range. */
class FlushCommand implements Command {
  constructor(
    readonly pick: number,
    readonly range: [number, number] | undefined,
    readonly async: boolean,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.maps.length > 0;
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const i = choose(m, this.pick) as number;
    const mm = m.maps[i] as MapModel;
    const target = r.maps[i] as MMap;
    let offset = 0;
    let length = mm.length;
    if (this.range) {
      offset = this.range[0] % (mm.length + 1);
      length = this.range[1] % (mm.length - offset + 1);
    }
    const range = this.range ? { offset, length } : undefined;
    if (this.async) await target.flushAsync(range);
    else target.flush(range);
    m.flush(mm, offset, length);
    const what = range ? `{ offset: ${offset}, length: ${length} }` : "";
    m.log.push(`${this.async ? "await flushAsync" : "flush"}(${what}) of ${m.describe(mm)}`);
    verify(m, r);
  }
  toString(): string {
    return `${this.async ? "flushAsync" : "flush"}(${this.pick}${this.range ? `,${this.range}` : ""})`;
  }
}

/** unmap, maybe while a flushAsync of the whole map is pending. */
class UnmapCommand implements Command {
  constructor(
    readonly pick: number,
    readonly duringFlush: boolean,
  ) {}
  check(m: Readonly<FileModel>): boolean {
    return m.maps.length > 0;
  }
  async run(m: FileModel, r: Real): Promise<void> {
    const i = choose(m, this.pick) as number;
    const mm = m.maps[i] as MapModel;
    const [target] = r.maps.splice(i, 1) as [MMap];
    if (this.duringFlush) {
      const pending = target.flushAsync();
      target.unmap();
      await pending;
    } else {
      target.unmap();
    }
    assert.equal(target.unmapped, true);
    if (caps.detachesOnUnmap) assert.equal(target.length, 0, "a map reads length 0 after unmap()");
    m.unmap(mm);
    m.log.push(`${this.duringFlush ? "unmap during flushAsync" : "unmap"} of ${m.describe(mm)}`);
    verify(m, r);
  }
  toString(): string {
    return `unmap(${this.pick}${this.duringFlush ? ",pending" : ""})`;
  }
}

const arg = fc.nat({ max: 1 << 20 });

/** Every command, as fast-check arbitraries. */
export const commands: fc.Arbitrary<Command>[] = [
  fc
    .tuple(
      fc.constantFrom<Prot>("RDONLY", "RDWR", "COPY"),
      fc.constantFrom<"mapRegion" | "mapFile">("mapRegion", "mapFile"),
      arg,
      arg,
      fc.boolean(),
    )
    .map((a) => new MapCommand(...a)),
  fc.tuple(arg, arg).map((a) => new GrowCommand(...a)),
  // Twice: stores through maps are the commonest step.
  fc.tuple(arg, arg, data).map((a) => new MapWriteCommand(...a)),
  fc.tuple(arg, arg, data).map((a) => new MapWriteCommand(...a)),
  fc.tuple(arg, data).map((a) => new FsWriteCommand(...a)),
  fc.tuple(arg, fc.option(fc.tuple(arg, arg), { nil: undefined }), fc.boolean()).map((a) => new FlushCommand(...a)),
  fc.tuple(arg, fc.boolean()).map((a) => new UnmapCommand(...a)),
];
