/**
 * The package as every target runs it: `.matrix/stage/` holds a build of
 * the library (`dist/`) and of the test suite (`build/test/`), the
 * prebuilt addons (`prebuilds/`), package.json, and the runtime dependencies
 * with koffi's platform packages for every target, as `npm install` would
 * leave them on each platform.
 *
 * Running from a snapshot keeps a long matrix run consistent while the work
 * tree changes (a build of the addon replaces `build/Release`), and leaves out
 * `build/Release`, the host's own addon, which node-gyp-build would otherwise
 * try to load on every platform. The suite is built from the same sources
 * with the same tsup config as `npm test`'s: the same `build/test/conformance.js`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheDir, fetchPackage, logDir, root } from "./cache.mjs";
import { runLogged, tail } from "./exec.mjs";
import { note, seconds, status } from "./log.mjs";

/** The snapshot's folder. */
export const stageDir = path.join(cacheDir, "stage");

/**
 * Runs tsup with one of the project's configs (the same ones `npm run
 * build:lib` and `npm run build:tests` use), writing into the snapshot
 * instead of the work tree. Throws with the log's tail if it fails.
 */
async function tsup(what, args) {
  const start = Date.now();
  const log = path.join(logDir, `tsup-${what.replace(/\W+/g, "-")}.log`);
  const cli = path.join(root, "node_modules", "tsup", "dist", "cli-default.js");
  const stop = status(() => `building ${what} with tsup (${Math.round((Date.now() - start) / 1000)} s)`);
  const result = await runLogged(process.execPath, [cli, ...args], { log, cwd: root, timeoutMs: 10 * 60_000 });
  stop();
  if (result.status !== 0) throw new Error(`tsup (${what}) failed (log ${log}):\n${tail(log, 20)}`);
  note(`built ${what} (${seconds(start)} s)`);
}

function copy(from, to) {
  fs.cpSync(path.join(root, from), path.join(stageDir, to ?? from), { recursive: true, dereference: true });
}

/** The version of an installed dependency, from its package.json in node_modules. */
export function installedVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version;
}

/**
 * Builds the library (tsup.config.ts) and the suite (tsup.test.config.ts)
 * straight into `.matrix/stage/`, and adds package.json, the prebuilds, the
 * runtime dependencies and koffi's platform package for each of `platforms`
 * (like "win32-x64"). Throws if a build fails.
 */
export async function buildStage(platforms) {
  fs.rmSync(stageDir, { recursive: true, force: true });
  fs.mkdirSync(stageDir, { recursive: true });
  await tsup("the library", ["--out-dir", path.join(stageDir, "dist")]);
  // dist/index.js, the ESM entry, wraps dist/index.cjs, as `npm run build:lib` writes it.
  const wrapper = await runLogged(
    process.execPath,
    [path.join(root, "scripts", "esm-wrapper.mjs"), path.join(stageDir, "dist")],
    {
      log: path.join(logDir, "esm-wrapper.log"),
      cwd: root,
    },
  );
  if (wrapper.status !== 0)
    throw new Error(`scripts/esm-wrapper.mjs failed:\n${tail(path.join(logDir, "esm-wrapper.log"), 20)}`);
  await tsup("the test suite", ["--config", "tsup.test.config.ts", "--out-dir", path.join(stageDir, "build", "test")]);
  copy("package.json");
  // The examples import the package by its name, which resolves to the snapshot's
  // dist/ through package.json's "exports" (the suite runs them: examples.test.ts).
  copy("examples");
  // Bun maps bare names through the nearest tsconfig.json's "paths", and would
  // find the work tree's, which sends "portable-mmap" to src/index.ts: this one,
  // closer, has none.
  fs.writeFileSync(path.join(stageDir, "tsconfig.json"), "{}\n");
  if (fs.existsSync(path.join(root, "prebuilds"))) copy("prebuilds");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  for (const name of Object.keys(pkg.dependencies ?? {})) copy(`node_modules/${name}`);
  const koffi = installedVersion("koffi");
  for (const platform of platforms) {
    const name = `@koromix/koffi-${platform}`;
    const installed = path.join(root, "node_modules", name);
    if (fs.existsSync(installed)) copy(`node_modules/${name}`);
    else fs.cpSync(await fetchPackage(name, koffi), path.join(stageDir, "node_modules", name), { recursive: true });
  }
}

/**
 * Puts the host's own addon build (`build/Release`, from `npm run build:native`) into
 * the snapshot as the prebuild of `platform` when there is none, so the native
 * backend of the host is tested even before `npm run build:prebuilds`. Returns what
 * it did, or undefined.
 */
export function useLocalBuild(platform) {
  const dir = path.join(stageDir, "prebuilds", platform);
  if (fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith(".node"))) return undefined;
  const release = path.join(root, "build", "Release");
  const built = fs.existsSync(release) ? fs.readdirSync(release).find((f) => f.endsWith(".node")) : undefined;
  if (!built) return undefined;
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(release, built), path.join(dir, "portable-mmap.node"));
  return `no prebuilds/${platform}: using build/Release/${built} (npm run build:native)`;
}
