/**
 * Runs contenders side by side: warm-up repetitions, then rounds that visit
 * every contender in turn, in a rotated order, so that the drift of a shared
 * machine hits all of them alike; with `freshProcesses`, each round in new
 * processes.
 */
import { formatNs, median, spread } from "./stats.mjs";

/**
 * Measures `contenders` (started by startContender) and returns one summary per contender:
 * `{ name, median, spread, samples, results }` of `ns` (or of `value` where the child reports one).
 * `hooks.before(c)` / `hooks.after(c, result)` run around each repetition (to reset or check a file).
 */
export async function measure(
  contenders,
  { warmup = 1, rounds = 5, log = console.log, hooks = {}, unit = formatNs, freshProcesses = false } = {},
) {
  const repeat = async (c) => {
    await hooks.before?.(c);
    const result = await c.run();
    await hooks.after?.(c, result);
    return result;
  };
  for (const c of contenders) for (let i = 0; i < warmup; i++) await repeat(c);
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    const parts = [];
    for (const c of order) {
      if (freshProcesses && round > 0) {
        // A process keeps the speed it started with (where its memory and threads landed): on a
        // shared virtual machine two processes of one contender can differ by 40% for good. A new
        // process per round, warmed up again, lets the median span several.
        await c.restart();
        for (let i = 0; i < warmup; i++) await repeat(c);
      }
      const result = await repeat(c);
      const sample = result.value ?? result.ns;
      c.samples.push(sample);
      c.results.push(result);
      parts.push(`${c.name} ${unit(sample)}`);
    }
    log(`    round ${round + 1}/${rounds}: ${parts.join(", ")}`);
  }
  for (const c of contenders) c.close();
  return contenders.map((c) => ({
    name: c.name,
    median: median(c.samples),
    spread: spread(c.samples),
    samples: c.samples,
    results: c.results,
  }));
}
