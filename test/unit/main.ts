/** Unit tests of internals that need no particular backend. */
import * as fs from "node:fs";
import { run } from "../harness.js";
import "./errors.test.js";
import "./koffi-backend.test.js";
import "./koffi-constants.test.js";
import "./koffi-edges.test.js";
import "./map.test.js";
import "./select.test.js";
import "./fallback.test.js";
import "./fallback-target.test.js";
import "./fallback-changes.test.js";
import "./lifetime.test.js";
import "./cli.test.js";
import "./resize.test.js";
import "./native-glue.test.js";
import "./file.test.js";
import { selfTestPrefix } from "./harness.test.js";

// PORTABLE_MMAP_HARNESS_SELF_TEST: only the tests harness.test.ts registers to misbehave on purpose.
const selfTest = process.env.PORTABLE_MMAP_HARNESS_SELF_TEST ? new RegExp(`^${selfTestPrefix}`) : undefined;
const report = await run("unit", selfTest);
// PORTABLE_MMAP_REPORT=<file>: also a JSON report, as the conformance suite writes (the matrix reads it).
const out = process.env.PORTABLE_MMAP_REPORT;
if (out) fs.writeFileSync(out, JSON.stringify({ runtime: process.versions, ...report }, null, 2));
