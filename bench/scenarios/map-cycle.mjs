/**
 * Scenario 1: map, touch one byte, unmap, of 4 KiB and of 1 MiB, through each
 * backend, against the floors (the same system calls without the API: all in
 * C through Node-API; through koffi), the peers, and C.
 */
import { measured, row, runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { formatNs } from "../lib/stats.mjs";
import { ratioTarget } from "../lib/targets.mjs";

/** Where native's time over the floor goes, from the rows between them. */
function breakdown(label, rows) {
  const [floor, addon, sized, native] = [
    "Node-API floor",
    "native addon, no API",
    "native addon + size check, no API",
    "native",
  ].map((name) => measured(rows, name));
  if (!floor || !addon || !sized || !native) return [];
  // A difference smaller than the two rows' spreads together is not a measurement: say so.
  const part = (a, b) => {
    const difference = a.median - b.median;
    const noise = a.median * a.spread + b.median * b.spread;
    return Math.abs(difference) < noise
      ? `${formatNs(difference)} (within the noise, ±${formatNs(noise)})`
      : formatNs(difference);
  };
  return [
    `${label}: native takes ${part(native, floor)} per cycle more than the Node-API floor (which includes the size check): ` +
      `the addon called directly with its size call takes ${part(sized, floor)} more than the floor (its bookkeeping and the ` +
      `calls from JavaScript), of which the size call ${part(sized, addon)}; the API itself (argument checks, the MMap object) ` +
      `${part(native, sized)}.`,
  ];
}

export default {
  name: "map-cycle",
  title: "Map cycle",
  about:
    "Map a region of a page-cached file, read one byte, unmap, in a loop. The floors do the same system calls without the API, " +
    "including the two that the reliability rules add to a bare mmap/munmap: the size check before the map (so that no map reaches " +
    "past the end of the file, where a touch would be SIGBUS) and the in-place zero-page replacement in unmap() (so that nothing " +
    "still pointing at the memory can reach the file or another mapping). The Node-API floor is all in C (bench/floor: fstat, " +
    "mmap, one external ArrayBuffer, the touch, the zero-page replacement, detach, munmap); the koffi floor makes the same calls " +
    "through koffi (statx for the size, as the koffi backend does). " +
    "`native addon, no API` calls the native backend's addon directly without the size check (its bookkeeping: the region " +
    "table, the weak reference that tells when the buffer is collected, the deferred munmap), and `+ size check` adds the addon's " +
    "size call the API makes before every map, so that the rows between the floor and `native` show where the time goes. " +
    "@riaskov/mmap-io and Bun.mmap cannot unmap: their cycle is map + touch, and the garbage collector unmaps; `native, dropped` does the same with portable-mmap (a map dropped without `unmap()` is unmapped when collected). " +
    "Each round runs every contender in a new process (two more rounds than the other scenarios): one process of a contender " +
    "keeps the speed it started with, and two processes of the same contender differed by up to 40% on this machine.",
  async run(ctx) {
    const sections = [];
    const targets = [];
    const analysis = [];
    for (const size of [4096, 2 ** 20]) {
      const label = size === 4096 ? "4 KiB" : "1 MiB";
      const cycles = Math.max(500, Math.round((size === 4096 ? 10000 : 2500) * ctx.scale));
      // A file larger than the region for mapRegion; one of exactly `size` for Bun.mmap, which maps whole files.
      const file = dataFile(ctx.workDir, Math.max(size, 64 * 1024));
      const exact = dataFile(ctx.workDir, size);
      const params = { file, size, cycles };
      ctx.log(`  ${label}: ${cycles} cycles per sample`);
      const s = ctx.specs;
      const rows = await runContenders(
        ctx,
        [
          s.c("C (cc -O2)", "cycle", params),
          s.floor("Node-API floor", "cycle", params),
          s.js("native addon, no API", "cycle", { ...params, api: "addon" }),
          s.js("native addon + size check, no API", "cycle", { ...params, api: "addon", how: "sized" }),
          s.js("koffi floor", "cycle", { ...params, api: "koffi-floor" }),
          s.js("native", "cycle", params, { backend: "native" }),
          s.js("koffi", "cycle", params, { backend: "koffi" }),
          s.js("fallback", "cycle", params, { backend: "fallback" }),
          s.js("native, dropped (no unmap)", "cycle", { ...params, how: "dropped" }, { backend: "native" }),
          s.mmapIo("@riaskov/mmap-io (no unmap)", "cycle", params),
          s.bun("Bun.mmap (no unmap)", "cycle", { ...params, file: exact }),
          s.python("Python mmap", "cycle", params),
        ],
        { freshProcesses: true },
      );
      sections.push({ title: `${label} region`, unit: "ns", per: "cycle", rows, baseline: "C (cc -O2)" });
      analysis.push(...breakdown(label, rows));
      targets.push(
        ratioTarget(
          `${label}: native within 1.10x of the Node-API floor`,
          row(rows, "native"),
          row(rows, "Node-API floor"),
          1.1,
        ),
        ratioTarget(
          `${label}: koffi within 1.15x of the koffi floor`,
          row(rows, "koffi"),
          row(rows, "koffi floor"),
          1.15,
        ),
        // mmap-io cannot unmap: compared with a native map dropped without unmap(), the same work.
        ratioTarget(
          `${label}: native faster than @riaskov/mmap-io (both dropped, no unmap)`,
          row(rows, "native, dropped (no unmap)"),
          row(rows, "@riaskov/mmap-io (no unmap)"),
          1,
        ),
      );
    }
    return { sections, targets, analysis };
  },
};
