/**
 * Describing and running a scenario's contenders: which program runs each
 * (Node or Bun with bench/workers/node.mjs, the compiled C program, Python
 * with bench/workers/peers.py), and one call that starts them all, reports
 * those that cannot run here, and measures the rest side by side.
 */
import { join } from "node:path";
import { startContender } from "./contender.mjs";
import { measure } from "./rounds.mjs";

const args = (params) => Object.entries(params).map(([k, v]) => `${k}=${v}`);

/** The spec factories of one run, bound to what `findPeers` found. */
export function specFactory({ here, peers }) {
  const nodeWorker = join(here, "workers", "node.mjs");
  const missing = (name, tool) => ({ name, unavailable: peers.missing[tool] });
  return {
    /** A JavaScript contender under Node (`runtime` another executable, such as Bun, where given). */
    js(name, op, params, { backend, runtime = process.execPath, copies } = {}) {
      const extra = peers.mmapIo ? { mmapio: peers.mmapIo.dir } : {};
      return {
        name,
        command: runtime,
        args: [nodeWorker, op, ...args({ ...params, ...extra, api: params.api ?? backend })],
        env: { PORTABLE_MMAP_BACKEND: backend ?? "" },
        copies,
      };
    },
    /** The same worker under Bun, where Bun was found. */
    bun(name, op, params) {
      return peers.bun ? this.js(name, op, { ...params, api: "bun" }, { runtime: peers.bun }) : missing(name, "Bun");
    },
    mmapIo(name, op, params) {
      return peers.mmapIo ? this.js(name, op, { ...params, api: "mmap-io" }) : missing(name, "mmap-io");
    },
    floor(name, op, params) {
      return peers.floor
        ? this.js(name, op, { ...params, api: "floor", floor: peers.floor })
        : missing(name, "Node-API floor");
    },
    c(name, op, params, { copies } = {}) {
      return peers.exe
        ? { name, command: peers.exe, args: [op, ...args(params)], env: {}, copies }
        : missing(name, "C");
    },
    python(name, op, params) {
      return peers.python
        ? { name, command: peers.python, args: [join(here, "workers", "peers.py"), op, ...args(params)], env: {} }
        : missing(name, "Python");
    },
  };
}

/**
 * Starts every spec, logs those unavailable here, measures the others in
 * interleaved rounds, and returns one row per spec, in the order given:
 * `{ name, median, spread, samples, results }` or `{ name, unavailable }`.
 */
export async function runContenders(ctx, specs, options = {}) {
  const started = [];
  for (const spec of specs) {
    const c = spec.unavailable ? spec : await startContender(spec);
    if (c.unavailable) ctx.log(`    not available: ${c.name}: ${c.unavailable}`);
    started.push(c);
  }
  const live = started.filter((c) => !c.unavailable);
  const measured = live.length
    ? await measure(live, { warmup: ctx.warmup, rounds: ctx.rounds, log: ctx.log, ...options })
    : [];
  return started.map((c) =>
    c.unavailable ? { name: c.name, unavailable: c.unavailable } : measured.find((m) => m.name === c.name),
  );
}

/** The row named `name` (which may say why it did not run), or undefined where the scenario has none. */
export function row(rows, name) {
  return rows.find((x) => x.name === name);
}

/** The row named `name` if it ran, else undefined. */
export function measured(rows, name) {
  const r = row(rows, name);
  return r && !r.unavailable ? r : undefined;
}
