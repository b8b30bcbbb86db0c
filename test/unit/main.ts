/** Unit tests of internals that need no particular backend. */
import { run } from "../harness.js";
import "./errors.test.js";

await run("unit");
