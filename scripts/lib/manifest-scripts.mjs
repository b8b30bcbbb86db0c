// The `prepare` script lives in the repository's package.json (npm runs it
// after `npm install` in a checkout, and to build a git dependency) but not
// in the published one: npm 11 reports any `prepare` of an installed package
// as an install script. `prepack` takes it out, `postpack` puts it back (the
// pattern of the pinst tool); both are idempotent, so a pack that failed
// between them is repaired by the next one.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const manifest = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");

/** The repository's prepare script, exactly as package.json has it. */
export const prepareScript = "node scripts/prepare.mjs";

function rewrite(edit) {
  const pkg = JSON.parse(fs.readFileSync(manifest, "utf8"));
  const scripts = edit({ ...pkg.scripts });
  if (JSON.stringify(scripts) === JSON.stringify(pkg.scripts)) return false;
  pkg.scripts = scripts;
  fs.writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
  return true;
}

/** Takes `prepare` out of package.json, for the tarball. Returns whether it changed the file. */
export function removePrepare() {
  return rewrite((scripts) => {
    delete scripts.prepare;
    return scripts;
  });
}

/** Puts `prepare` back, right after `prepack`. Returns whether it changed the file. */
export function restorePrepare() {
  return rewrite((scripts) => {
    const out = {};
    for (const [name, command] of Object.entries(scripts)) {
      if (name === "prepare") continue;
      out[name] = command;
      if (name === "prepack") out.prepare = prepareScript;
    }
    if (!("prepare" in out)) out.prepare = prepareScript;
    return out;
  });
}
