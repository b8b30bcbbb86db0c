/**
 * Scenario 5: one dirty 4 KiB page in a RDWR map of a big file, written back
 * durably with flush({ offset, length }) or flush(), on every backend; the
 * fallback's whole flush against Buffer.compare over the same bytes.
 */
import { row, runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { ratioTarget } from "../lib/targets.mjs";

export default {
  name: "flush",
  title: "Durable flush",
  about:
    "Change one byte of one 4 KiB page of a RDWR map of the whole file, then time `flush({ offset, length })` of that page or " +
    "`flush()` of the map: both wait until the device has the data (msync MS_SYNC; the fallback writes and fsyncs). " +
    "The fallback finds what changed by comparing its memory with a copy of what it last wrote: `Buffer.compare` of the same " +
    "number of bytes is the baseline for that.",
  async run(ctx) {
    const size = ctx.bigFile;
    const params = { file: dataFile(ctx.workDir, size), size };
    const s = ctx.specs;
    const specs = [
      s.c("C msync, page", "flush", { ...params, how: "range" }),
      s.c("C msync, whole", "flush", { ...params, how: "whole" }),
    ];
    for (const backend of ["native", "koffi", "fallback"]) {
      specs.push(
        s.js(`${backend}, page`, "flush", { ...params, how: "range" }, { backend }),
        s.js(`${backend}, whole`, "flush", { ...params, how: "whole" }, { backend }),
      );
    }
    specs.push(s.js("Buffer.compare of the file's size", "flush", { ...params, api: "compare" }));
    const rows = await runContenders(ctx, specs);
    return {
      sections: [
        {
          title: `${ctx.sizeLabel(size)} map, one dirty page`,
          unit: "ns",
          per: "flush",
          rows,
          baseline: "C msync, page",
        },
      ],
      targets: [
        ratioTarget(
          `fallback flush() of a ${ctx.sizeLabel(size)} map with one dirty page within 2x of Buffer.compare over it`,
          row(rows, "fallback, whole"),
          row(rows, "Buffer.compare of the file's size"),
          2,
        ),
      ],
    };
  },
};
