/**
 * The matrix's cache under `.matrix/` (git-ignored): npm packages fetched with
 * `npm pack` and unpacked once, the versions a range resolved to, logs and
 * per-cell reports. Everything is idempotent: a package unpacked completely
 * carries a `.complete` marker and is never fetched again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { capture, npm, runLogged, tail } from "./exec.mjs";
import { megabytes, note, status } from "./log.mjs";

/** The repository root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The cache folder. */
export const cacheDir = path.join(root, ".matrix");
/** Logs of every command and suite run. */
export const logDir = path.join(cacheDir, "logs");

const npmCache = path.join(cacheDir, "npm-cache");
const packagesDir = path.join(cacheDir, "packages");
const resolvedFile = path.join(cacheDir, "resolved.json");
const resolvedMaxAgeMs = 7 * 24 * 3600 * 1000;

/** Options shared by the whole run (set once by run.mjs). */
export const settings = { refresh: false };

function readResolved() {
  try {
    return JSON.parse(fs.readFileSync(resolvedFile, "utf8"));
  } catch {
    return {};
  }
}

/** Compares two semver strings without prerelease tags ("22.3.0" < "22.10.1"). */
export function compareVersions(a, b) {
  const pa = a.split(/[.+-]/).map(Number);
  const pb = b.split(/[.+-]/).map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * The newest version of `name` in `range` (a major like "22", or "latest"),
 * asked of the registry with `npm view` and remembered for a week in
 * `.matrix/resolved.json`, so a cached run needs no network.
 */
export function resolveVersion(name, range) {
  const key = `${name}@${range}`;
  const known = readResolved();
  const hit = known[key];
  if (hit && !settings.refresh && Date.now() - Date.parse(hit.at) < resolvedMaxAgeMs) return hit.version;
  let version;
  try {
    const cmd = npm(["view", key, "version", "--json", "--cache", npmCache]);
    const out = capture(cmd.command, cmd.args, { shell: cmd.shell });
    const list = [JSON.parse(out)].flat().filter((v) => /^\d+\.\d+\.\d+$/.test(v));
    version = list.sort(compareVersions).at(-1);
  } catch (error) {
    if (hit) return hit.version; // offline: the last answer is still good
    throw error;
  }
  if (!version) throw new Error(`npm knows no version of ${key}`);
  known[key] = { version, at: new Date().toISOString() };
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(resolvedFile, `${JSON.stringify(known, null, 2)}\n`);
  return version;
}

function folderSize(dir) {
  let total = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderSize(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

/**
 * Fetches `name@version` with `npm pack` and unpacks it under
 * `.matrix/packages/<name>@<version>/` (or `into`, for a layout a loader
 * expects). Returns the folder that holds the package's files. Shows the
 * download progress; does nothing when the package is already there.
 */
export async function fetchPackage(name, version, into) {
  const dest = into ?? path.join(packagesDir, `${name.replace("/", "+")}@${version}`);
  const marker = path.join(dest, ".complete");
  if (fs.existsSync(marker)) return dest;
  const spec = `${name}@${version}`;
  const downloads = path.join(cacheDir, "downloads");
  fs.mkdirSync(downloads, { recursive: true });
  const before = folderSize(npmCache);
  const started = Date.now();
  const stop = status(
    () =>
      `downloading ${spec}: ${megabytes(Math.max(0, folderSize(npmCache) - before))} in ${Math.round((Date.now() - started) / 1000)} s`,
    { announce: true },
  );
  const log = path.join(logDir, `npm-pack-${name.replace("/", "+")}@${version}.log`);
  const cmd = npm(["pack", spec, "--json", "--pack-destination", downloads, "--cache", npmCache, "--ignore-scripts"]);
  const packed = await runLogged(cmd.command, cmd.args, {
    log,
    cwd: downloads,
    shell: cmd.shell,
    timeoutMs: 30 * 60_000,
  });
  const size = folderSize(npmCache) - before;
  stop();
  if (packed.status !== 0) throw new Error(`npm pack ${spec} failed (log ${log}):\n${tail(log, 15)}`);
  // npm names the tarball after the package: "@scope/name" becomes "scope-name-<version>.tgz".
  const tarball = path.join(downloads, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!fs.existsSync(tarball)) throw new Error(`npm pack ${spec} left no ${tarball}`);
  const unpackStart = Date.now();
  const stopUnpack = status(() => `unpacking ${spec}: ${megabytes(folderSize(dest))}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const untar = await runLogged("tar", ["-xzf", tarball, "-C", dest, "--strip-components=1", "--no-same-owner"], {
    log: `${log}.tar`,
  });
  stopUnpack();
  if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed:\n${tail(`${log}.tar`, 10)}`);
  fs.rmSync(tarball, { force: true });
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  note(
    `fetched ${spec} (${size > 0 ? `${megabytes(size)} downloaded` : "from npm's cache"}, ${megabytes(folderSize(dest))} unpacked, ${Math.round((Date.now() - started) / 100) / 10} s${Date.now() - unpackStart > 2000 ? ` incl. unpacking` : ""})`,
  );
  return dest;
}
