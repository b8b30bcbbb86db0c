/**
 * What the file and each live map must hold, step by step, for the
 * model-based test (model.test.ts). Two sets of rules:
 *
 * - a real map (`sharesPageCache`): an RDWR map is the file's page cache, so
 *   the file and every RDWR map agree at once. RDONLY and COPY maps are
 *   private (copy-on-write): a page the map has written is its own copy,
 *   taken from the file when the map first wrote to it; a page it has not
 *   written still shows every later change to the file (MAP_PRIVATE);
 * - the fallback (docs/fallback.md): a map is a copy of the file taken at
 *   map time and sees nothing later. An RDWR map's flush writes back exactly
 *   the bytes that differ from its record of the file (what it read at map
 *   time or last wrote back), over the flushed range rounded down to a page.
 */

/** The protections the model knows. */
export type Prot = "RDONLY" | "RDWR" | "COPY";

/** One live map of the model. */
export interface MapModel {
  /** A number for the step log: maps are numbered in the order they were made. */
  readonly id: number;
  readonly prot: Prot;
  /** File offset of the map's first byte. */
  readonly offset: number;
  readonly length: number;
  /** Fallback: the map's own bytes. */
  readonly bytes?: Uint8Array;
  /** Fallback, RDWR: the map's record of the file's bytes. */
  readonly known?: Uint8Array;
  /** Real, RDONLY and COPY: the pages this map has written (its own copies), by file page number. */
  readonly pages?: Map<number, Uint8Array>;
}

/** The file and its live maps as they must be. */
export class FileModel {
  /** The file's bytes. */
  file: Uint8Array;
  /** Live maps, in the order they were made. */
  readonly maps: MapModel[] = [];
  /** What each step did, with every value resolved, for the failure message. */
  readonly log: string[] = [];
  #made = 0;

  /**
   * @param real Whether maps are the page cache (`caps.sharesPageCache`).
   * @param pageSize The backend's page size: the unit of copy-on-write and of flush rounding.
   */
  constructor(
    readonly real: boolean,
    readonly pageSize: number,
    initial: Uint8Array,
  ) {
    this.file = initial.slice();
  }

  get size(): number {
    return this.file.length;
  }

  /** A new map of `[offset, offset + length)`, which lies inside the file. */
  map(prot: Prot, offset: number, length: number): MapModel {
    const copy = !this.real ? this.file.slice(offset, offset + length) : undefined;
    const m: MapModel = {
      id: this.#made++,
      prot,
      offset,
      length,
      bytes: copy,
      known: copy && prot === "RDWR" ? copy.slice() : undefined,
      pages: this.real && prot !== "RDWR" ? new Map() : undefined,
    };
    this.maps.push(m);
    return m;
  }

  /** The file grows to `end` (mapFile with grow: true): the new bytes are zeros. */
  grow(end: number): void {
    if (end <= this.size) return;
    const grown = new Uint8Array(end);
    grown.set(this.file);
    this.file = grown;
  }

  /** `fs.writeSync` of `bytes` at `position` (at most the file's size): it may extend the file. */
  fsWrite(position: number, bytes: Uint8Array): void {
    this.grow(position + bytes.length);
    this.file.set(bytes, position);
  }

  /** A store of `bytes` into map `m` at `at` (relative to the map). */
  mapWrite(m: MapModel, at: number, bytes: Uint8Array): void {
    if (m.bytes) {
      m.bytes.set(bytes, at);
      return;
    }
    if (!m.pages) {
      this.file.set(bytes, m.offset + at);
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      const position = m.offset + at + i;
      this.#ownPage(m.pages, Math.floor(position / this.pageSize))[position % this.pageSize] = bytes[i] as number;
    }
  }

  /** The private copy of page `n`, made from the file (zeros past its end) at the map's first write to it. */
  #ownPage(pages: Map<number, Uint8Array>, n: number): Uint8Array {
    let page = pages.get(n);
    if (!page) {
      page = new Uint8Array(this.pageSize);
      page.set(this.file.subarray(n * this.pageSize, (n + 1) * this.pageSize));
      pages.set(n, page);
    }
    return page;
  }

  /**
   * `flush({ offset, length })` of map `m` (relative to the map). A real map
   * is the page cache already: nothing changes that `read()` can see. A
   * fallback RDWR map writes back the bytes that differ from its record, from
   * the page where the range starts (the API rounds the start down) to its end.
   */
  flush(m: MapModel, offset: number, length: number): void {
    if (!m.known || !m.bytes || length === 0) return;
    const firstPage = m.offset + offset - ((m.offset + offset) % this.pageSize);
    const from = Math.max(0, firstPage - m.offset);
    for (let i = from; i < offset + length; i++) {
      if (m.bytes[i] === m.known[i]) continue;
      this.file[m.offset + i] = m.bytes[i] as number;
      m.known[i] = m.bytes[i] as number;
    }
  }

  /** `unmap()`: a fallback RDWR map writes back the whole map first. */
  unmap(m: MapModel): void {
    this.flush(m, 0, m.length);
    this.maps.splice(this.maps.indexOf(m), 1);
  }

  /** What map `m` must read now. */
  expected(m: MapModel): Uint8Array {
    if (m.bytes) return m.bytes;
    const view = this.file.slice(m.offset, m.offset + m.length);
    for (const [n, page] of m.pages ?? []) {
      // The part of page n inside the map.
      const from = Math.max(n * this.pageSize, m.offset);
      const to = Math.min((n + 1) * this.pageSize, m.offset + m.length);
      if (from < to) view.set(page.subarray(from - n * this.pageSize, to - n * this.pageSize), from - m.offset);
    }
    return view;
  }

  /** A short description of map `m`, for the step log. */
  describe(m: MapModel): string {
    return `map ${m.id} (${m.prot} [${m.offset}, ${m.offset + m.length}))`;
  }
}
