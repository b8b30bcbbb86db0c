/**
 * Scenario 6: how much resident memory a map of a huge sparse file costs
 * after reading one byte of it.
 */
import { totalmem } from "node:os";
import { runContenders } from "../lib/contenders.mjs";
import { sparseFile } from "../lib/files.mjs";
import { formatNumber } from "../lib/stats.mjs";
import { checkTarget } from "../lib/targets.mjs";

const MiB = 2 ** 20;

export default {
  name: "memory",
  title: "Memory",
  about:
    "Map a sparse file (no blocks on disk) whole and read the byte in its middle; the growth of the process's resident set " +
    "(`/proc/self/statm`) from before the map to after the read. A real map costs a page or two of memory; the fallback " +
    "reads the whole region into memory, so it costs the region's size, and it is refused beyond the runtime's largest buffer.",
  unit: "bytes",
  async run(ctx) {
    const s = ctx.specs;
    const sections = [];
    const targets = [];
    for (const size of [4 * 2 ** 30, 64 * 2 ** 30]) {
      const label = ctx.sizeLabel(size);
      const file = sparseFile(ctx.workDir, size);
      const unit = (bytes) => `${formatNumber(bytes / MiB, 1)} MiB`;
      // Node 20's buffers hold at most 4 GiB: the 64 GiB rows run on a newer Node where one is here;
      // where none is, the section says so and has no targets (the 4 GiB ones stand).
      const needsLarge = size > 2 ** 32 && (globalThis.Buffer?.constants?.MAX_LENGTH ?? 0) < size;
      if (needsLarge && !ctx.peers.largeNode) {
        const why = ctx.peers.missing["Node 22 or later"];
        const rows = ["native", "koffi", "fallback"].map((name) => ({ name, unavailable: why }));
        sections.push({ title: `${label} sparse file`, unit: "bytes", per: "map", rows });
        continue;
      }
      const runtime = needsLarge ? ctx.peers.largeNode : process.execPath;
      const suffix = needsLarge ? " (Node 22+)" : "";
      const rows = await runContenders(
        ctx,
        ["native", "koffi"].map((backend) => s.js(`${backend}${suffix}`, "memory", { file }, { backend, runtime })),
        { unit },
      );
      // The fallback reads the whole region into memory: one sample (each costs the region's size in RAM
      // until the collector frees it), of 1 GiB with --quick.
      const small = ctx.quick && size === 4 * 2 ** 30;
      const fallbackSize = small ? 2 ** 30 : size;
      const fallbackFile = small ? sparseFile(ctx.workDir, fallbackSize) : file;
      const name = small ? "fallback (1 GiB with --quick)" : "fallback";
      const fallbackSpec = s.js(`${name}${suffix}`, "memory", { file: fallbackFile }, { backend: "fallback", runtime });
      if (fallbackSize > totalmem() / 2) {
        rows.push({
          name: name + suffix,
          unavailable: `not run: it would read ${ctx.sizeLabel(fallbackSize)} into this machine's ${Math.round(totalmem() / 2 ** 30)} GiB of memory`,
        });
      } else rows.push(...(await runContenders(ctx, [fallbackSpec], { unit, rounds: 1, warmup: 0 })));
      sections.push({ title: `${label} sparse file`, unit: "bytes", per: "map", rows });
      for (const name of ["native", "koffi"]) {
        const r = rows.find((x) => x.name.startsWith(name));
        targets.push(
          checkTarget(
            `${label}: ${r.name} grows the resident set by less than 16 MiB`,
            r.unavailable ? undefined : r.median < 16 * MiB,
            r.unavailable ? `did not run: ${r.unavailable}` : `${formatNumber(r.median / MiB, 2)} MiB`,
          ),
        );
      }
    }
    return { sections, targets };
  },
};
