/**
 * Scenario 5: one dirty 4 KiB page in a RDWR map of a big file, written back
 * durably with flush({ offset, length }) or flush(), on every backend; the
 * fallback's whole flush against Buffer.compare over the same bytes.
 */
import { row, runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { formatNs, formatRatio } from "../lib/stats.mjs";
import { checkTarget, notMeasured } from "../lib/targets.mjs";

/**
 * The fallback's whole flush against Buffer.compare: both of its flushes write one page and wait for
 * the disk, so their difference is the time spent finding that page, which is what the target is about
 * (the disk's wait, from 0.2 to hundreds of milliseconds on a shared machine, is not).
 */
function changeFinderTarget(ctx, rows) {
  const text = `fallback: finding the one dirty page of a ${ctx.sizeLabel(ctx.bigFile)} map (flush() less a one-page flush) within 2x of Buffer.compare over it`;
  const [whole, page, compare] = ["fallback, whole", "fallback, page", "Buffer.compare of the file's size"].map(
    (name) => row(rows, name),
  );
  const missing = [whole, page, compare].find((r) => !r || r.unavailable);
  if (missing) return notMeasured(text, missing);
  const finding = Math.max(0, whole.median - page.median);
  const ratio = finding / compare.median;
  return checkTarget(
    text,
    ratio <= 2,
    `${formatRatio(ratio)}: ${formatNs(finding)} vs ${formatNs(compare.median)} (target <= 2.00x)`,
  );
}

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
    // Each flush waits for the disk, whose latency varies widely: three times the rounds (they are short).
    const rows = await runContenders(ctx, specs, { rounds: ctx.rounds * 3 });
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
      targets: [changeFinderTarget(ctx, rows)],
    };
  },
};
