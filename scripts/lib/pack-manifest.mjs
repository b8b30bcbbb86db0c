// The package.json a tarball carries differs from the repository's in two
// ways: no `prepare` (npm runs it after `npm install` in a checkout and to
// build a git dependency, but npm 11 reports an installed package's
// `prepare` as an install script) and no `devDependencies` (so that
// `npm explore portable-mmap -- npm install --no-save node-gyp node-addon-api`
// installs those two, not the whole toolchain). `prepack` saves the file to
// package.json.before-pack and writes the packed one; `postpack` (and
// `npm run build`, and the next `prepack`) put the saved one back, so a pack
// that failed or was interrupted in between is repaired by the next command.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const manifest = path.join(root, "package.json");
const saved = path.join(root, "package.json.before-pack");

/** Saves package.json and writes the one a tarball carries. */
export function writePackManifest() {
  const text = fs.readFileSync(manifest, "utf8");
  const pkg = JSON.parse(text);
  fs.writeFileSync(saved, text);
  delete pkg.devDependencies;
  if (pkg.scripts) delete pkg.scripts.prepare;
  fs.writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
}

/** Puts the saved package.json back, if a pack left one. Returns whether it did. */
export function restoreManifest() {
  if (!fs.existsSync(saved)) return false;
  fs.copyFileSync(saved, manifest);
  fs.rmSync(saved);
  return true;
}
