/**
 * Where this code runs from, without tsup's `import.meta.url` shim: in the
 * CommonJS build (dist/*.cjs) the shim reads `__filename` when the module
 * loads, which throws where a bundler has put the package into an ES module
 * (no `__filename` there) and so crashed the import. Here it is read only when
 * asked, and its absence is a reason a backend does not load, not a crash.
 *
 * @module
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

// CommonJS gives each module its file name; an ES module (the sources under vitest, a bundle) has none.
declare const __filename: string | undefined;

/**
 * The URL of the file this code was loaded from: `import.meta.url` in an ES
 * module (the sources), `__filename` in the CommonJS build (where esbuild
 * leaves `import.meta` empty), or `undefined` inside a bundle that has neither.
 */
export function moduleUrl(): string | undefined {
  const meta = (import.meta as { url?: string }).url;
  if (typeof meta === "string" && meta !== "") return meta;
  return typeof __filename === "string" ? pathToFileURL(__filename).href : undefined;
}

/** Why nothing can be found where the package was bundled into an ES module, and what to do. */
export const bundledIntoEsm =
  "the package was bundled into an ES module, which has no file location to find its addon and koffi from: mark portable-mmap external in the bundler";

/**
 * A `require` that resolves from this package's files. Throws, saying to
 * leave the package out of the bundle, where the code has been bundled into
 * an ES module.
 */
export function packageRequire(): NodeJS.Require {
  const url = moduleUrl();
  if (url === undefined) {
    throw new Error(bundledIntoEsm);
  }
  return createRequire(url);
}
