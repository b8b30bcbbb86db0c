/** The command line's parts that need no child process: arguments, runtime refusals, possible solutions. */
import * as assert from "node:assert/strict";
import { describe, test } from "vitest";
import { CHILD_COMMAND, parseArgs } from "../../src/cli/args.js";
import { runtimeRefusal } from "../../src/cli/runtime.js";
import { solutionsFor } from "../../src/cli/solutions.js";

describe("cli arguments", () => {
  test("commands and options", () => {
    assert.deepEqual(parseArgs(["--help"]), { kind: "help" });
    assert.deepEqual(parseArgs(["-h"]), { kind: "help" });
    assert.deepEqual(parseArgs(["help"]), { kind: "help" });
    assert.deepEqual(parseArgs(["--version"]), { kind: "version" });
    assert.deepEqual(parseArgs(["-v"]), { kind: "version" });
    assert.deepEqual(parseArgs(["info"]), { kind: "info", json: false });
    assert.deepEqual(parseArgs(["info", "--json"]), { kind: "info", json: true });
    assert.deepEqual(parseArgs(["check"]), { kind: "check" });
    assert.deepEqual(parseArgs([CHILD_COMMAND, "native", "x"]), { kind: "child", args: ["native", "x"] });
  });

  test("usage errors say what is wrong", () => {
    const cases: [string[], RegExp][] = [
      [[], /missing/],
      [["frob"], /unknown command: frob/],
      [["info", "--yaml"], /unknown option of info: --yaml/],
      [["check", "--json"], /unknown option of check: --json/],
      [["--version", "x"], /unexpected x/],
    ];
    for (const [args, message] of cases) {
      const parsed = parseArgs(args);
      assert.equal(parsed.kind, "usage-error", args.join(" "));
      assert.match((parsed as { message: string }).message, message);
    }
  });
});

describe("cli diagnosis", () => {
  test("a refusal on purpose is recognised from the backend's reason, a missing file is not", () => {
    assert.match(
      runtimeRefusal("native addon not loadable: Cannot load native addon because loading addons is disabled.") ?? "",
      /--no-addons/,
    );
    assert.equal(
      runtimeRefusal(
        'koffi could not be loaded: Requires ffi access to "/x/koffi.node", run again with the --allow-ffi flag',
      ),
      "Deno runs without --allow-ffi",
    );
    assert.equal(
      runtimeRefusal(
        'native addon not loadable: Requires env access to "PREBUILDS_ONLY", run again with the --allow-env flag',
      ),
      "Deno runs without --allow-env",
    );
    assert.equal(runtimeRefusal("native addon not loadable: No native build was found for platform=linux"), undefined);
    assert.equal(runtimeRefusal("native addon not loadable: /x/portable_mmap.node: file too short"), undefined);
  });

  test("possible solutions name the fix for each reason", () => {
    const target = "linux-x64-musl";
    const solution = (name: "native" | "koffi" | "fallback", reason: string, addonFile?: string) =>
      solutionsFor(name, { reason, target, ...(addonFile ? { addonFile } : {}) }).join("\n");
    assert.match(
      solution("native", "native addon not loadable: No native build was found for platform=linux arch=x64"),
      /no prebuilt addon for linux-x64-musl.*npm explore portable-mmap -- npm run build:native.*Node\.js headers/,
    );
    assert.match(solution("native", "loading addons is disabled."), /without --no-addons/);
    assert.match(solution("native", "Requires ffi access to"), /--allow-ffi --allow-env --allow-read/);
    assert.match(
      solution("native", "x.node: file too short", "build/Release/x.node"),
      /at build\/Release\/x\.node.*build:native/,
    );
    assert.match(solution("native", "package root of portable-mmap not found"), /bundle/);
    assert.match(solution("koffi", "koffi could not be loaded: Cannot find module 'koffi'"), /npm install koffi/);
    assert.match(
      solution("koffi", "koffi could not be loaded: Cannot find the native Koffi module"),
      /@koromix\/koffi-.*--omit=optional.*install script/,
    );
    assert.match(solution("koffi", "koffi backend unusable: cannot detach"), /cannot be used/);
    assert.match(solution("fallback", "impossible"), /report/);
  });
});
