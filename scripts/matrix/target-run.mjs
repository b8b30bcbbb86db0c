/**
 * One row of the matrix: sets up the target's runtime (downloads, installs),
 * runs the unit tests (cell "unit"), asks it which backends load, and runs
 * the conformance suite once per backend. A backend
 * that does not load, or a target that cannot be set up, gives cells marked
 * "not available" with the reason.
 */
import * as path from "node:path";
import { root } from "./cache.mjs";
import { note, seconds, step, warn } from "./log.mjs";
import { probe, runSuite } from "./suite.mjs";

/** A cell that did not run: status "not run" or "not available", with the reason. */
function idle(base, status, reason) {
  return { ...base, status, reason, passed: 0, failed: 0, skipped: 0, skips: [], failures: [], seconds: 0 };
}

/**
 * Runs one target for the `backends` asked for. `required` lists the
 * backends that must be available; `prebuildWhy` maps a platform to why it
 * has no prebuilt addon. Returns the target's record and its cells.
 */
export async function runTarget(target, { backends, required, prebuildWhy }) {
  const base = { target: target.id, platform: target.platform, runtime: target.runtime };
  const record = { id: target.id, label: target.label, platform: target.platform, runtime: target.runtime };
  if (target.notRun) {
    const cells = ["unit", ...backends].map((backend) =>
      idle({ ...base, runtimeVersion: null, backend }, "not run", target.notRun),
    );
    return { record: { ...record, version: null, status: "not run", reason: target.notRun, seconds: 0 }, cells };
  }
  step(target.label);
  const start = Date.now();
  let launcher;
  let unavailable;
  try {
    launcher = await target.prepare();
    note(`${target.runtime} ${launcher.version}: ${launcher.source} (ready in ${seconds(start)} s)`);
  } catch (error) {
    unavailable = `${target.label} could not be set up: ${error.message}`;
    warn(unavailable);
  }
  const prepareSeconds = seconds(start);
  let probed;
  if (launcher) {
    probed = await probe(target.id, launcher);
    if (probed.error) {
      unavailable = launcher.probeNote ? `${launcher.probeNote}: ${probed.error}` : probed.error;
      warn(unavailable);
    }
  }
  const cells = [];
  // The unit tests need no particular backend: once per target, whichever backends load.
  const unitBase = { ...base, runtimeVersion: launcher?.version ?? null, backend: "unit", required: true };
  if (launcher) {
    const cell = await runSuite(`${target.id}-unit`, `${target.label} unit`, launcher, "unit");
    cells.push({ ...unitBase, ...cell, log: path.relative(root, cell.log) });
  } else cells.push(idle(unitBase, "not available", unavailable));
  for (const backend of backends) {
    const cellBase = {
      ...base,
      runtimeVersion: launcher?.version ?? null,
      backend,
      required: required.includes(backend),
    };
    const found = probed?.backends?.find((b) => b.name === backend);
    let reason = unavailable;
    if (!reason && !found) reason = `the runtime does not list the ${backend} backend`;
    if (!reason && !found.available) {
      const extra = backend === "native" && prebuildWhy[target.platform] ? `${prebuildWhy[target.platform]}; ` : "";
      reason = `${extra}${launcher.probeNote ? `${launcher.probeNote}: ` : ""}${found.reason}`;
    }
    if (reason) {
      if (!unavailable) warn(`${target.label} ${backend}: not available: ${reason}`);
      cells.push(idle(cellBase, "not available", reason));
      continue;
    }
    const cell = await runSuite(`${target.id}-${backend}`, `${target.label} ${backend}`, launcher, backend);
    cells.push({ ...cellBase, ...cell, log: path.relative(root, cell.log) });
  }
  return {
    record: {
      ...record,
      version: launcher?.version ?? null,
      source: launcher?.source ?? null,
      status: unavailable ? "not available" : "run",
      reason: unavailable,
      prepareSeconds,
      seconds: seconds(start),
    },
    cells,
  };
}
