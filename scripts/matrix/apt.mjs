/**
 * Debian packages the matrix needs (Wine, qemu-user and the arm64 libraries),
 * installed with apt-get when missing. Installing is slow (wine64 pulls in
 * hundreds of MB), so the output goes to a log and a status line counts the
 * packages fetched, unpacked and set up.
 */
import * as path from "node:path";
import { logDir } from "./cache.mjs";
import { capture, exists, runLogged, tail } from "./exec.mjs";
import { note, seconds, status } from "./log.mjs";

/** The subset of `packages` that dpkg does not report as installed. */
export function missingPackages(packages) {
  return packages.filter((name) => {
    try {
      return !capture("dpkg-query", ["-W", `-f=\${Status}`, name]).includes("install ok installed");
    } catch {
      return true;
    }
  });
}

let updated = false;

/**
 * Installs whichever of `packages` are missing. Returns undefined when they
 * are all there afterwards, else the reason they are not (for a cell's
 * "not available" text); never throws.
 */
export async function ensurePackages(packages, why) {
  if (!exists("dpkg-query") || !exists("apt-get"))
    return `needs the Debian packages ${packages.join(", ")} (no apt here)`;
  const missing = missingPackages(packages);
  if (missing.length === 0) return undefined;
  if (process.getuid && process.getuid() !== 0)
    return `needs the Debian packages ${missing.join(", ")}; install them as root: apt-get install -y ${missing.join(" ")}`;
  const start = Date.now();
  const log = path.join(logDir, `apt-${missing.join("+")}.log`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    const stop = status(() => `apt-get update (${Math.round((Date.now() - start) / 1000)} s)`, { announce: true });
    await runLogged("apt-get", ["update"], { log: `${log}.update`, env });
    stop();
    updated = true;
  }
  note(`installing ${missing.join(", ")} with apt-get (${why}); log: ${path.relative(process.cwd(), log)}`);
  const counts = { get: 0, unpack: 0, setup: 0, total: 0 };
  const stop = status(
    () =>
      `apt-get install: ${counts.total ? `${counts.total} packages, ` : ""}${counts.get} fetched, ${counts.unpack} unpacked, ${counts.setup} set up (${Math.round((Date.now() - start) / 1000)} s)`,
    { announce: true },
  );
  const result = await runLogged(
    "apt-get",
    ["install", "-y", "--no-install-recommends", "-o", "Dpkg::Use-Pty=0", ...missing],
    {
      log,
      env,
      timeoutMs: 45 * 60_000,
      onLine(line) {
        const planned = /^(\d+) upgraded, (\d+) newly installed/.exec(line);
        if (planned) counts.total = Number(planned[2]);
        if (line.startsWith("Get:")) counts.get++;
        else if (line.startsWith("Unpacking ")) counts.unpack++;
        else if (line.startsWith("Setting up ")) counts.setup++;
      },
    },
  );
  stop();
  const still = missingPackages(packages);
  if (result.status === 0 && still.length === 0) {
    note(`installed ${missing.join(", ")} (${counts.total} packages in ${seconds(start)} s)`);
    return undefined;
  }
  return `apt-get install ${still.join(" ")} failed (exit ${result.status}); see ${log}: ${tail(log, 3).replace(/\n/g, " | ")}`;
}
