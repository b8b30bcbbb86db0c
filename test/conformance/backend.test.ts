/** backendInfo() and forcing a backend with PORTABLE_MMAP_BACKEND (in child processes). */
import * as assert from "node:assert/strict";
import { BACKEND_ENV, backendInfo } from "portable-mmap";
import { describe, test } from "../harness.js";
import { backendName, runChild } from "./helpers.js";

describe("backendInfo", () => {
  test("names the selected backend and every backend with availability and reasons", () => {
    const info = backendInfo();
    assert.equal(info.selected, backendName);
    assert.equal(typeof info.forced, "boolean");
    assert.deepEqual(
      info.backends.map((b) => b.name),
      ["native", "koffi", "fallback"],
    );
    for (const b of info.backends) {
      assert.equal(typeof b.available, "boolean");
      if (b.available) {
        assert.equal(b.reason, "");
        assert.equal(typeof b.capabilities?.sharesPageCache, "boolean");
      } else {
        assert.ok(b.reason.length > 0, `${b.name} says why it is unavailable`);
      }
    }
    assert.equal(info.backends.find((b) => b.name === "fallback")?.available, true);
  });
});

describe(BACKEND_ENV, () => {
  const available = backendInfo().backends;

  for (const b of available) {
    test(`=${b.name} selects ${b.name}, or fails at first use with the reason`, () => {
      const child = runChild(["info"], { [BACKEND_ENV]: b.name });
      assert.equal(child.status, 0, child.stderr);
      const result = JSON.parse(child.stdout);
      assert.equal(result.info.forced, true);
      if (b.available) {
        assert.equal(result.ok, true);
        assert.equal(result.info.selected, b.name);
      } else {
        assert.equal(result.ok, false);
        assert.equal(result.code, "ERR_MMAP_BACKEND");
        assert.ok(result.message.includes(b.reason), "the error carries the reason");
        assert.equal(result.info.selected, null);
      }
    });
  }

  test("an unknown value fails at first use and never falls back", () => {
    const child = runChild(["info"], { [BACKEND_ENV]: "turbo" });
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout);
    assert.equal(result.ok, false);
    assert.equal(result.code, "ERR_MMAP_BACKEND");
    assert.match(result.message, /turbo/);
    assert.equal(result.info.selected, null);
  });

  test("unset, the first available backend in the order native, koffi, fallback is selected", () => {
    const child = runChild(["info"], { [BACKEND_ENV]: undefined });
    const result = JSON.parse(child.stdout);
    const first = available.find((b) => b.available)?.name;
    assert.equal(result.ok, true);
    assert.equal(result.info.selected, first);
    assert.equal(result.info.forced, false);
  });
});
