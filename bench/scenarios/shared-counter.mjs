/**
 * Scenario 7: two processes add 1 to the same 32-bit counter in a shared map
 * with Atomics.add; checks that every addition counted.
 */
import { closeSync, openSync, readSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { row, runContenders } from "../lib/contenders.mjs";
import { checkTarget, notMeasured } from "../lib/targets.mjs";

/** Every addition counted, on native and koffi; not measured where either did not run. */
function countTarget(rows, wrong) {
  const text = "every addition of both processes counted (native, koffi)";
  const missing = ["native", "koffi"].map((name) => row(rows, name)).find((r) => !r || r.unavailable);
  if (missing) return notMeasured(text, missing);
  return checkTarget(text, wrong.length === 0, wrong.length ? wrong.join("; ") : "exact in every sample");
}

export default {
  name: "shared-counter",
  title: "Shared counter",
  about:
    "Two processes map the same 4 KiB file RDWR and each runs `Atomics.add(counter, 0, 1)` on an `Int32Array` over it; " +
    "the time per addition (the slower process's), and a check after every sample that the file holds exactly the sum. " +
    "C does the same with `__atomic_fetch_add`. The fallback cannot share memory between processes: each has its own copy.",
  async run(ctx) {
    const file = join(ctx.workDir, "counter.bin");
    writeFileSync(file, Buffer.alloc(4096));
    const adds = Math.round(5e6 * Math.min(1, ctx.scale * 2));
    const params = { file, size: 4096, adds };
    const s = ctx.specs;
    const fd = openSync(file, "r+");
    const wrong = [];
    const hooks = {
      before: () => writeSync(fd, Buffer.alloc(4), 0, 4, 0),
      after: (c) => {
        const b = Buffer.alloc(4);
        readSync(fd, b, 0, 4, 0);
        const total = b.readInt32LE(0);
        if (total !== 2 * adds) wrong.push(`${c.name}: ${total} of ${2 * adds}`);
      },
    };
    let rows;
    try {
      rows = await runContenders(
        ctx,
        [
          s.c("C (cc -O2)", "counter", params, { copies: 2 }),
          s.js("native", "counter", params, { backend: "native", copies: 2 }),
          s.js("koffi", "counter", params, { backend: "koffi", copies: 2 }),
        ],
        { hooks },
      );
    } finally {
      closeSync(fd);
    }
    rows.push({ name: "fallback", unavailable: "not shared: each process maps its own copy" });
    return {
      sections: [
        { title: `2 processes x ${adds} additions`, unit: "ns", per: "addition", rows, baseline: "C (cc -O2)" },
      ],
      targets: [countTarget(rows, wrong)],
    };
  },
};
