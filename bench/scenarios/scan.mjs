/**
 * Scenario 3: count one byte value over a whole page-cached file, including
 * the time to map or read it, against the same loop over a buffer already in
 * memory.
 */
import { measured, row, runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { formatNs, formatRatio } from "../lib/stats.mjs";
import { ratioTarget } from "../lib/targets.mjs";

export default {
  name: "scan",
  title: "Sequential scan",
  about:
    "Count the bytes equal to 10 (newlines) in a whole page-cached file of random bytes, with the same JavaScript loop " +
    "(`for (i...) if (a[i] === 10) n++`), timed from before the map (or read) to the count. `in memory` runs the loop over a " +
    "Buffer read before timing (`after an unmap()`: in a process that has unmapped one map before); `no unmap()` drops " +
    "each map for the collector to unmap; `indexOf` counts with `asBuffer().indexOf(10, i + 1)`; C maps and loops.",
  async run(ctx) {
    const size = ctx.bigFile;
    const params = { file: dataFile(ctx.workDir, size), size, value: 10 };
    ctx.log(`  a ${ctx.sizeLabel(size)} file per sample`);
    const s = ctx.specs;
    const rows = await runContenders(ctx, [
      s.c("C (cc -O2)", "scan", params),
      s.js("in memory (no I/O)", "scan", { ...params, api: "memory" }),
      s.js(
        "in memory, after an unmap()",
        "scan",
        { ...params, api: "memory", how: "after-unmap", backend: "native" },
        { backend: "native" },
      ),
      s.js("native", "scan", params, { backend: "native" }),
      s.js("native, advise sequential", "scan", { ...params, how: "sequential" }, { backend: "native" }),
      s.js("native, POPULATE", "scan", { ...params, how: "populate" }, { backend: "native" }),
      s.js("native, POPULATE, no unmap()", "scan", { ...params, how: "populate-dropped" }, { backend: "native" }),
      s.js("native, indexOf", "scan", { ...params, how: "indexof" }, { backend: "native" }),
      s.js("koffi", "scan", params, { backend: "koffi" }),
      s.js("koffi, POPULATE", "scan", { ...params, how: "populate" }, { backend: "koffi" }),
      s.js("fallback", "scan", params, { backend: "fallback" }),
      s.js("readFileSync + loop", "scan", { ...params, api: "fs", how: "readfile" }),
      s.js("1 MiB stream + loop", "scan", { ...params, api: "fs", how: "stream" }),
      s.bun("Bun.mmap + loop", "scan", params),
    ]);
    const native = row(rows, "native");
    const [memory, afterUnmap, populate, dropped, stream] = [
      "in memory (no I/O)",
      "in memory, after an unmap()",
      "native, POPULATE",
      "native, POPULATE, no unmap()",
      "1 MiB stream + loop",
    ].map((name) => measured(rows, name));
    const analysis = [];
    if (memory && afterUnmap) {
      analysis.push(
        `The same loop over the same Buffer in memory takes ${formatRatio(afterUnmap.median / memory.median)} as long in a ` +
          "process that has called unmap() once: from the first detached ArrayBuffer on (unmap() detaches the map's buffer, so " +
          "that every view reads length 0), V8's optimized code checks every typed-array access for detachment, for the rest " +
          "of the process (its ArrayBufferDetaching protector). Maps that are never unmapped (the collector unmaps them) " +
          "leave it alone.",
      );
    }
    if (memory && populate && dropped) {
      analysis.push(
        `The populated map takes ${formatRatio(dropped.median / memory.median)} the loop in memory when the process never ` +
          `unmaps, and ${afterUnmap ? formatRatio(populate.median / afterUnmap.median) : "?"} the loop in memory after an ` +
          `unmap() when it unmaps (${formatNs(populate.median - (afterUnmap ?? memory).median)} more).`,
      );
    }
    if (memory && stream) {
      analysis.push(
        `The same loop over the 1 MiB chunks of a stream takes ${formatRatio(stream.median / memory.median)} the loop in memory.`,
      );
    }
    return {
      sections: [
        { title: `${ctx.sizeLabel(size)} file`, unit: "ns", per: "scan", rows, baseline: "in memory (no I/O)" },
      ],
      analysis,
      targets: [
        ratioTarget(
          "mapped loop (native) at least 2x faster than readFileSync + loop",
          row(rows, "readFileSync + loop"),
          native,
          2,
          { at: "least" },
        ),
        ratioTarget(
          "native, POPULATE, no unmap() within 1.2x of the loop in memory",
          row(rows, "native, POPULATE, no unmap()"),
          row(rows, "in memory (no I/O)"),
          1.2,
        ),
        ratioTarget(
          "native, POPULATE within 1.2x of the loop in memory after an unmap()",
          row(rows, "native, POPULATE"),
          row(rows, "in memory, after an unmap()"),
          1.2,
        ),
      ],
    };
  },
};
