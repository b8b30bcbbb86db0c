/**
 * The native addon for each target platform. `scripts/prebuild.mjs` (`npm
 * run build:prebuilds`) cross-compiles it into `prebuilds/<platform>-<arch>/`; the
 * matrix calls it for the platforms it is about to run, and it rebuilds only
 * what is missing or older than its sources.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { logDir, root } from "./cache.mjs";
import { runLogged, tail } from "./exec.mjs";
import { note, seconds, status, warn } from "./log.mjs";

const script = path.join(root, "scripts", "prebuild.mjs");

/** Whether `prebuilds/<platform>/` has an addon. */
export function hasPrebuild(platform) {
  const dir = path.join(root, "prebuilds", platform);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith(".node"));
}

/**
 * Runs `node scripts/prebuild.mjs <platforms>` where the script exists.
 * Returns, per platform without an addon afterwards, why (for the native
 * cell's "not available" text).
 */
export async function ensurePrebuilds(platforms) {
  const why = {};
  if (!fs.existsSync(script)) {
    for (const p of platforms.filter((p) => !hasPrebuild(p)))
      why[p] = `no prebuilt addon in prebuilds/${p}/ and no scripts/prebuild.mjs to cross-compile one`;
    return why;
  }
  const start = Date.now();
  const log = path.join(logDir, "prebuild.log");
  let last = "";
  const stop = status(
    () => `node scripts/prebuild.mjs ${platforms.join(" ")} (${Math.round((Date.now() - start) / 1000)} s) ${last}`,
    { announce: true },
  );
  const result = await runLogged(process.execPath, [script, ...platforms], {
    log,
    cwd: root,
    timeoutMs: 60 * 60_000,
    onLine(line) {
      if (line.trim()) last = line.trim().slice(0, 60);
    },
  });
  stop();
  if (result.status === 0) note(`node scripts/prebuild.mjs ${platforms.join(" ")} (${seconds(start)} s)`);
  else
    warn(`node scripts/prebuild.mjs exited with ${result.status} (log ${log}): ${tail(log, 3).replace(/\n/g, " | ")}`);
  for (const p of platforms.filter((p) => !hasPrebuild(p)))
    why[p] =
      `scripts/prebuild.mjs left no addon in prebuilds/${p}/ (exit ${result.status}, log .matrix/logs/prebuild.log): ${tail(log, 2).replace(/\n/g, " | ")}`;
  return why;
}
