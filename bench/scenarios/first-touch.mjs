/**
 * Scenario 4: map a whole page-cached file and read one byte of every page:
 * plain, with POPULATE, with advise("willneed"); the cost per page.
 */
import { runContenders } from "../lib/contenders.mjs";
import { dataFile } from "../lib/files.mjs";
import { formatNs } from "../lib/stats.mjs";

export default {
  name: "first-touch",
  title: "First touch",
  about:
    "Map a whole page-cached file and read one byte of every 4 KiB page, timed from before the map to the last page. " +
    "Plain maps fault the pages in as they are touched (Linux maps up to 16 neighbours per fault); POPULATE maps them " +
    'all in the map call; `advise("willneed")` starts reading ahead. The fallback reads the whole region in the map call.',
  async run(ctx) {
    const size = ctx.bigFile;
    const params = { file: dataFile(ctx.workDir, size), size };
    const s = ctx.specs;
    const specs = [s.c("C (cc -O2)", "touch", params), s.c("C, MAP_POPULATE", "touch", { ...params, how: "populate" })];
    for (const backend of ["native", "koffi"]) {
      specs.push(
        s.js(backend, "touch", params, { backend }),
        s.js(`${backend}, POPULATE`, "touch", { ...params, how: "populate" }, { backend }),
        s.js(`${backend}, willneed`, "touch", { ...params, how: "willneed" }, { backend }),
      );
    }
    specs.push(s.js("fallback", "touch", params, { backend: "fallback" }));
    const rows = await runContenders(ctx, specs);
    const pages = size / 4096;
    for (const r of rows) if (!r.unavailable) r.extra = `${formatNs(r.median / pages)} per page`;
    return {
      sections: [
        {
          title: `${ctx.sizeLabel(size)} file (${pages} pages)`,
          unit: "ns",
          per: "file",
          rows,
          baseline: "C (cc -O2)",
        },
      ],
      targets: [],
    };
  },
};
