/**
 * One copy of the library per process: the ESM entry (dist/index.js) is a
 * wrapper over the CommonJS build (dist/index.cjs), so `import` and `require`
 * give the same classes, the same functions and one backend selection, and
 * the command line (dist/cli.cjs) loads the same chunk rather than a copy.
 *
 * The built package is found two folders above the built suite (`build/test/`
 * in the work tree, `.matrix/stage/build/test/` in the matrix's snapshot);
 * under vitest, two folders above this file: the work tree's dist/.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, test } from "vitest";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
type Library = typeof import("portable-mmap");

async function both(): Promise<{ esm: Library; cjs: Library }> {
  const esm = (await import(pathToFileURL(path.join(dist, "index.js")).href)) as Library;
  const cjs = createRequire(import.meta.url)(path.join(dist, "index.cjs")) as Library;
  return { esm, cjs };
}

describe("one module instance", () => {
  test("import and require give the same MMap, the same functions and one selection", async () => {
    const { esm, cjs } = await both();
    assert.equal(esm.MMap, cjs.MMap);
    assert.equal(esm.MmapSystemError, cjs.MmapSystemError);
    for (const name of ["map", "mapRegion", "mapFile", "backendInfo", "pageSize"] as const) {
      assert.equal(esm[name], cjs[name], `${name} differs between import and require`);
    }
    assert.equal(esm.backendInfo().selected, cjs.backendInfo().selected);
    assert.deepEqual(Object.keys(esm).sort(), Object.keys(cjs).sort());
  });

  test("a map made through import is an MMap to require, and the reverse", async () => {
    const { esm, cjs } = await both();
    const a = esm.mapRegion(-1, 4096, esm.RDWR, esm.ANON, 0);
    const b = cjs.mapRegion(-1, 4096, cjs.RDWR, cjs.ANON, 0);
    try {
      assert.ok(a instanceof cjs.MMap);
      assert.ok(b instanceof esm.MMap);
      assert.equal(a.backend, b.backend);
    } finally {
      a.unmap();
      b.unmap();
    }
  });

  test("the command line loads the library's chunk, not a copy of it", () => {
    const chunkOf = (file: string): string[] =>
      [...fs.readFileSync(path.join(dist, file), "utf8").matchAll(/require\(["']\.\/(chunk-[\w-]+\.cjs)["']\)/g)].map(
        (m) => m[1] as string,
      );
    const library = chunkOf("index.cjs");
    assert.equal(library.length, 1, "index.cjs should load exactly one chunk");
    // cli.cjs answers --version itself and loads the rest lazily (main-<hash>.cjs), so that
    // --version needs no file access (Deno without --allow-read): follow that file too.
    const lazy = [
      ...fs.readFileSync(path.join(dist, "cli.cjs"), "utf8").matchAll(/["']\.\/(main-[\w-]+\.cjs)["']/g),
    ].map((m) => m[1] as string);
    assert.deepEqual([...chunkOf("cli.cjs"), ...lazy.flatMap(chunkOf)], library);
    // The class is defined once, in the chunk (its constructor's error code is in no other file).
    const defining = fs
      .readdirSync(dist)
      .filter(
        (f) => /\.(c?js)$/.test(f) && fs.readFileSync(path.join(dist, f), "utf8").includes("ERR_ILLEGAL_CONSTRUCTOR"),
      );
    assert.deepEqual(defining, library);
  });
});
