#!/usr/bin/env node
/** `postpack`: puts the `prepare` script that `prepack` took out back into package.json. */
import { restorePrepare } from "./lib/manifest-scripts.mjs";

restorePrepare();
