/**
 * `MMapCursor` against arguments and maps that try to break it: getters that
 * unmap the map, proxies, numbers of every odd kind, views of the map itself
 * as source or needle, maps whose memory moved, results kept after unmap.
 */
import * as assert from "node:assert/strict";
import { inspect } from "node:util";
import { ANON, type MMap, MMapCursor, mapFile, mapRegion, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { byobRead } from "./byob.js";
import { tempFile, throwsCode } from "./helpers.js";

function anon(n: number): MMap {
  return mapRegion(null, n, RDWR, ANON);
}

/** A map of `n` bytes holding 0, 1, 2, ... (mod 251) and a cursor over it. */
function filled(n: number): [MMap, MMapCursor] {
  const m = anon(n);
  for (let i = 0; i < n; i++) m[i] = i % 251;
  return [m, new MMapCursor(m)];
}

const typeError = (fn: () => unknown) => throwsCode(fn, TypeError, "ERR_INVALID_ARG_TYPE");
const outOfRange = (fn: () => unknown) => throwsCode(fn, RangeError, "ERR_OUT_OF_RANGE");

describe("MMapCursor: hostile arguments and maps", () => {
  test("only a real MMap makes a cursor: a Uint8Array, a Proxy of a map, anything else is ERR_INVALID_ARG_TYPE", () => {
    const m = anon(16);
    for (const bad of [new Uint8Array(16), Buffer.alloc(16), new Proxy(m, {}), {}, null, undefined, 3]) {
      typeError(() => new MMapCursor(bad as never));
    }
    m.unmap();
  });

  test("the class is named MMap (not the bundler's _MMap) in errors, constructor.name and inspect", () => {
    const m = anon(16);
    assert.equal(m.constructor.name, "MMap");
    assert.match(inspect(m), /^MMap\(16\) \[Uint8Array\]/);
    const error = typeError(() => new MMapCursor(new Proxy(m, {}) as never));
    assert.match(error.message, /must be an instance of MMap\. Received an instance of MMap$/);
    m.unmap();
  });

  test("numbers: fractional, NaN, infinite, unsafe integers are ERR_OUT_OF_RANGE; bigint, strings, objects ERR_INVALID_ARG_TYPE", () => {
    const [m, c] = filled(64);
    c.seek(5);
    const reject = [
      ...[0.5, -1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, -(2 ** 60)].map(
        (v) => [v, outOfRange] as const,
      ),
      ...[1n, "1", true, {}, [1], Symbol("x")].map((v) => [v, typeError] as const),
    ];
    for (const [value, expect] of reject) {
      const v = value as never;
      expect(() => c.read(v));
      expect(() => c.seek(v));
      expect(() => c.find("a", v));
      expect(() => c.find("a", 0, v));
      expect(() => c.rfind("a", v));
      expect(() => c.move(v, 0, 1));
      expect(() => c.move(0, v, 1));
      expect(() => c.move(0, 0, v));
      expect(() => c.writeByte(v));
    }
    typeError(() => c.seek(undefined as never));
    typeError(() => c.move(undefined as never, 0, 0));
    typeError(() => c.writeByte(undefined as never));
    for (const whence of [3, -1, 0.5, Number.NaN])
      throwsCode(() => c.seek(0, whence as never), TypeError, "ERR_INVALID_ARG_VALUE");
    typeError(() => c.seek(0, "1" as never));
    for (const b of [256, -1, 1.5]) {
      outOfRange(() => c.writeByte(b));
      outOfRange(() => c.find(b));
    }
    typeError(() => c.find(1n as never));
    typeError(() => c.find(new Uint16Array(2) as never));
    typeError(() => c.write(new DataView(new ArrayBuffer(2)) as never));
    typeError(() => c.write(new Proxy(new Uint8Array(2), {}) as never));
    // Large but safe integers are Python's large ints: clamped by read and find, refused by seek.
    assert.equal(c.find(5, -(2 ** 52)), 5);
    assert.equal(c.find(5, 0, 2 ** 52), 5);
    outOfRange(() => c.seek(2 ** 52, 1));
    assert.equal(c.tell(), 5, "no refused call moved the position");
    assert.equal(c.read(2 ** 52).length, 59);
    assert.deepEqual(Array.from(m.subarray(0, 8)), [0, 1, 2, 3, 4, 5, 6, 7], "no refused call wrote");
    m.unmap();
  });

  test("a Uint8Array whose own length, byteLength, buffer and byteOffset getters unmap the map: never called", () => {
    const [m, c] = filled(32);
    let calls = 0;
    const data = new Uint8Array([0xaa, 0xbb, 0xcc]);
    for (const key of ["length", "byteLength", "buffer", "byteOffset"]) {
      Object.defineProperty(data, key, {
        get() {
          calls++;
          m.unmap();
          return 1;
        },
      });
    }
    assert.equal(c.write(data), 3);
    assert.equal(c.find(data, 0), 0);
    assert.equal(c.rfind(data, 0), 0);
    assert.equal(calls, 0);
    assert.equal(m.unmapped, false);
    assert.deepEqual(Array.from(m.subarray(0, 4)), [0xaa, 0xbb, 0xcc, 3]);
    m.unmap();
  });

  test("an asBuffer, fileSize or read property put on the map instance is never called", () => {
    const [m, c] = filled(16);
    let calls = 0;
    for (const key of ["asBuffer", "fileSize", "unmapped", "pagesWritable"]) {
      Object.defineProperty(m, key, {
        value: () => {
          calls++;
          return new Uint8Array(1000);
        },
      });
    }
    assert.equal(c.length, 16);
    assert.equal(c.size(), 16);
    c.write("ab");
    assert.equal(calls, 0);
    m.unmap();
  });

  test("writing a view of the map onto itself copies as memmove does, both directions", () => {
    for (const [from, to] of [
      [0, 3],
      [3, 0],
      [2, 2],
    ] as const) {
      const [m, c] = filled(16);
      const model = Array.from(m);
      const source = m.subarray(from, from + 10);
      model.splice(to, 10, ...model.slice(from, from + 10));
      c.seek(to);
      assert.equal(c.write(source), 10);
      assert.deepEqual(Array.from(m), model, `from ${from} to ${to}`);
      m.unmap();
    }
  });

  test("a needle that is a view of the map itself", () => {
    const [m, c] = filled(600);
    const needle = m.subarray(300, 305); // 300 % 251 = 49: the bytes 49..53 also occur at 49
    assert.equal(c.find(needle), 49);
    assert.equal(c.rfind(needle), 551);
    assert.equal(c.find(needle, 50), 300);
    assert.equal(c.rfind(needle, 0, 551), 300);
    assert.equal(c.find(m), 0, "the whole map finds itself at 0");
    assert.equal(c.rfind(m), 0);
    m.unmap();
  });

  test("a source or needle whose map was unmapped is what the view reads now: nothing, or zeros", () => {
    const [m, c] = filled(8);
    const other = anon(8);
    other.fill(9);
    const view = other.subarray(0, 4);
    other.unmap();
    const left = view.length; // 0 where unmap() detaches (caps.detachesOnUnmap); else the view reads zeros
    assert.equal(c.find(view, 3), left === 0 ? 3 : -1, "an empty needle is found at start, as in Python");
    assert.equal(c.write(view), left);
    const expected = [0, 1, 2, 3, 4, 5, 6, 7].map((b, i) => (i < left ? 0 : b));
    assert.deepEqual(Array.from(m), expected);
    m.unmap();
  });

  test("what read and readline return is a copy: unchanged by later writes, valid after unmap()", () => {
    const m = anon(32);
    const c = new MMapCursor(m);
    c.write("line one\nline two");
    c.seek(0);
    const line = c.readline();
    const rest = c.read();
    assert.notEqual(line.buffer, m.buffer);
    m.fill(0);
    m.unmap();
    assert.equal(line.toString(), "line one\n");
    assert.equal(rest.subarray(0, 8).toString(), "line two");
    assert.equal(rest.length, 23);
  });

  test("seek, then unmap: every method throws ERR_MMAP_UNMAPPED, naming the cursor's method", () => {
    const [m, c] = filled(64);
    c.seek(40);
    m.unmap();
    const error = throwsCode(() => c.read(4), Error, "ERR_MMAP_UNMAPPED");
    assert.match(error.message, /cursor\.read\(\)/);
    throwsCode(() => c.find(1), Error, "ERR_MMAP_UNMAPPED");
    // Bad arguments are reported first: they are checked before the map is.
    typeError(() => c.read("4" as never));
    assert.equal(c.map, m);
  });

  test("the map's memory moved away (a BYOB stream read into it): ERR_MMAP_DETACHED, then unmap() completes", async () => {
    const m = anon(4096);
    const c = new MMapCursor(m);
    c.seek(10);
    const value = await byobRead(m);
    assert.equal(value[0], 7);
    assert.equal(m.buffer.byteLength, 0, "the read moved the map's memory to another buffer");
    for (const call of [() => c.tell(), () => c.read(), () => c.write("a"), () => c.find(0), () => c.length]) {
      const error = throwsCode(call, Error, "ERR_MMAP_DETACHED");
      assert.match(error.message, /cursor\./);
    }
    m.unmap();
    throwsCode(() => c.tell(), Error, "ERR_MMAP_UNMAPPED");
  });

  test("an empty map: every method works and stays in range", () => {
    const m = mapFile(tempFile(""), { prot: RDWR }); // ANON maps cannot be empty
    const c = new MMapCursor(m);
    assert.equal(c.length, 0);
    assert.equal(c.read().length, 0);
    assert.equal(c.read(5).length, 0);
    assert.equal(c.readline().length, 0);
    assert.deepEqual([...c], []);
    outOfRange(() => c.readByte());
    outOfRange(() => c.writeByte(1));
    assert.equal(c.write(""), 0);
    outOfRange(() => c.write("a"));
    assert.equal(c.find(""), 0);
    assert.equal(c.rfind(""), 0);
    assert.equal(c.find(0), -1);
    assert.equal(c.seek(0, 2), 0);
    outOfRange(() => c.seek(1));
    c.move(0, 0, 0);
    outOfRange(() => c.move(0, 0, 1));
    m.unmap();
  });

  test("two cursors over one map keep their own positions and see each other's writes", () => {
    const m = anon(8);
    const a = new MMapCursor(m);
    const b = new MMapCursor(m);
    a.write("abcd");
    assert.equal(b.tell(), 0);
    assert.equal(b.read(4).toString(), "abcd");
    b.write("efgh");
    assert.equal(a.read().toString(), "efgh");
    m.unmap();
  });
});
