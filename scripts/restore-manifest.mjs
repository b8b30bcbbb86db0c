#!/usr/bin/env node
/**
 * `postpack`, and the first step of `npm run build`: puts back the
 * repository's package.json that `prepack` replaced with the one a tarball
 * carries (scripts/lib/pack-manifest.mjs). Does nothing when there is none to
 * put back.
 */
import { restoreManifest } from "./lib/pack-manifest.mjs";

if (restoreManifest() && process.env.npm_lifecycle_event !== "postpack") {
  console.log("portable-mmap: package.json put back as it was before an unfinished npm pack");
}
