/**
 * The conformance suite: the public API against the backend selected in this
 * process (PORTABLE_MMAP_BACKEND, or automatic). `build/test/run.js` runs it
 * once per backend. With PORTABLE_MMAP_REPORT=<file> it also writes a JSON report.
 */
import * as fs from "node:fs";
import { run } from "../harness.js";
import { backendName } from "./helpers.js";
import "./map.test.js";
import "./flush.test.js";
import "./memory.test.js";
import "./populate.test.js";
import "./lifetime.test.js";
import "./errors.test.js";
import "./backend.test.js";
import "./hostile.test.js";
import "./fallback-data.test.js";
import "./model.test.js";
import "./durability.test.js";
import "./workers.test.js";
import "./faults.test.js";
import "./examples.test.js";
import "./open-errors.test.js";
import "./cli.test.js";
import "./module-instance.test.js";
import "./file-size.test.js";
import "./resize.test.js";
import "./cursor.test.js";
import "./cursor-hostile.test.js";
import "./cursor-properties.test.js";
import "./shared-memory.test.js";

const report = await run(`conformance[${backendName}]`);
const out = process.env.PORTABLE_MMAP_REPORT;
if (out) fs.writeFileSync(out, JSON.stringify({ backend: backendName, runtime: process.versions, ...report }, null, 2));
