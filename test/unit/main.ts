/** Unit tests of internals that need no particular backend. */
import { run } from "../harness.js";
import "./errors.test.js";
import "./koffi-backend.test.js";
import "./koffi-constants.test.js";
import "./map.test.js";
import "./select.test.js";
import "./fallback.test.js";

await run("unit");
