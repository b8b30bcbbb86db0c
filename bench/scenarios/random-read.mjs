/**
 * Scenario 2: reads of 8 bytes at random offsets of a page-cached file (the
 * same xorshift32 offsets in every language), through a map, with
 * `fs.readSync`, with Python's mmap slicing, and in C.
 */
import { measured, row, runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { formatNs, formatRatio } from "../lib/stats.mjs";
import { ratioTarget } from "../lib/targets.mjs";

export default {
  name: "random-read",
  title: "Random reads",
  about:
    "Reads of 8 bytes at random offsets of a page-cached file, mapped once (every page touched once before timing). " +
    "`u8[i]` reads the 8 bytes one by one from the map (a `Uint8Array`); `DataView` reads two 32-bit words with `getUint32` from a `DataView` over the map; `readBigUInt64LE` reads them from `asBuffer()`; " +
    "`fs.readSync` reads 8 bytes at each offset; Python slices its `mmap` (`int.from_bytes(m[o:o+8])`); C copies 8 bytes from the map.",
  async run(ctx) {
    const size = ctx.bigFile;
    const reads = Math.round(1e6 * Math.min(1, ctx.scale * 2));
    const params = { file: dataFile(ctx.workDir, size), size, reads, seed: 2463534242 };
    ctx.log(`  ${reads} reads of a ${ctx.sizeLabel(size)} file per sample`);
    const s = ctx.specs;
    const rows = await runContenders(ctx, [
      s.c("C (cc -O2)", "random", params),
      s.js("native u8[i]", "random", params, { backend: "native" }),
      s.js("native DataView", "random", { ...params, how: "dataview" }, { backend: "native" }),
      s.js("native readBigUInt64LE", "random", { ...params, how: "bigint" }, { backend: "native" }),
      s.js("koffi u8[i]", "random", params, { backend: "koffi" }),
      s.js("fallback u8[i]", "random", params, { backend: "fallback" }),
      s.mmapIo("@riaskov/mmap-io u8[i]", "random", params),
      s.bun("Bun.mmap u8[i]", "random", params),
      s.js("fs.readSync", "random", { ...params, api: "fs" }),
      s.python("Python mmap slice", "random", params),
    ]);
    const native = row(rows, "native DataView");
    const [c, readSync] = [measured(rows, "C (cc -O2)"), measured(rows, "fs.readSync")];
    const analysis =
      c && readSync
        ? [
            `One \`fs.readSync\` costs ${formatNs(readSync.median)}, ${formatRatio(readSync.median / c.median)} what C takes to read 8 bytes from a map: ` +
              "no reader of mapped memory can beat `fs.readSync` by more than that here.",
          ]
        : [];
    return {
      sections: [{ title: `${ctx.sizeLabel(size)} file`, unit: "ns", per: "read", rows, baseline: "C (cc -O2)" }],
      analysis,
      targets: [
        ratioTarget(
          "mapped (native DataView) at least 100x faster than fs.readSync",
          row(rows, "fs.readSync"),
          native,
          100,
          { at: "least" },
        ),
        ratioTarget("mapped (native DataView) faster than Python's mmap", row(rows, "Python mmap slice"), native, 1, {
          at: "least",
        }),
      ],
    };
  },
};
