/** backendInfo() and choosing backends with PORTABLE_MMAP_BACKEND (in child processes). */
import * as assert from "node:assert/strict";
import { BACKEND_ENV, type BackendInfo, type BackendName, backendInfo } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, type ChildLimits, runChild, unsupportedLimits } from "./helpers.js";

const FALLBACK_WARNING = "PORTABLE_MMAP_FALLBACK";

/** What child.js `info` prints. */
interface InfoResult {
  ok: boolean;
  code?: string;
  message?: string;
  info: BackendInfo;
  /** The same through the CommonJS build, with `info cjs`. */
  cjs?: { ok: boolean; info: BackendInfo };
  warnings: { name: string; code?: string; message: string }[];
}

/** Runs child.js `info` with `BACKEND_ENV` set to `value` (undefined: unset) and returns what it printed. */
function info(value: string | undefined, limits: ChildLimits = {}, args: string[] = []): InfoResult {
  const child = runChild(["info", ...args], { [BACKEND_ENV]: value }, [], limits);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as InfoResult;
}

function fallbackWarnings(result: InfoResult): InfoResult["warnings"] {
  return result.warnings.filter((w) => w.code === FALLBACK_WARNING);
}

function reasonOf(result: InfoResult, name: BackendName): string {
  return result.info.backends.find((b) => b.name === name)?.reason ?? "";
}

/** A child without native addons really has neither native nor koffi: checked, not assumed. */
function assertNoAddons(result: InfoResult): void {
  for (const name of ["native", "koffi"] as const) {
    const status = result.info.backends.find((b) => b.name === name);
    assert.equal(status?.available, false, `${name} must not load without addons`);
    assert.ok(status?.reason, `${name} says why it is unavailable`);
  }
  assert.equal(result.info.backends.find((b) => b.name === "fallback")?.available, true);
}

describe("backendInfo", () => {
  test("names the selected backend and every backend with availability and reasons", () => {
    const info = backendInfo();
    assert.equal(info.selected, backendName);
    assert.equal(typeof info.forced, "boolean");
    assert.ok(info.allowed.includes(backendName as BackendName));
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
  const loads = (name: string) => available.some((b) => b.name === name && b.available);

  for (const b of available) {
    test(`=${b.name} selects ${b.name}, or fails at first use with the reason`, () => {
      const result = info(b.name);
      assert.equal(result.info.forced, true);
      assert.deepEqual(result.info.allowed, [b.name]);
      assert.deepEqual(fallbackWarnings(result), [], "no warning when forced");
      if (b.available) {
        assert.equal(result.ok, true);
        assert.equal(result.info.selected, b.name);
      } else {
        assert.equal(result.ok, false);
        assert.equal(result.code, "ERR_MMAP_BACKEND");
        assert.ok(result.message?.includes(b.reason), "the error carries the reason");
        assert.equal(result.info.selected, null);
      }
    });
  }

  test("unset, the first available backend in the order native, koffi, fallback is selected", () => {
    const result = info(undefined);
    const first = available.find((b) => b.available)?.name;
    assert.equal(result.ok, true);
    assert.equal(result.info.selected, first);
    assert.equal(result.info.forced, false);
    assert.deepEqual(result.info.allowed, ["native", "koffi", "fallback"]);
    assert.equal(fallbackWarnings(result).length, first === "fallback" ? 1 : 0, "a warning only on the fallback");
  });

  test("blank counts as unset", () => {
    const result = info("  ");
    assert.equal(result.ok, true);
    assert.equal(result.info.forced, false);
    assert.equal(result.info.selected, available.find((b) => b.available)?.name);
  });

  // A few cases of each kind, each a process start (slow under emulators); test/unit/select.test.ts has more.
  const lists = ["fallback,native", "koffi,fallback", " koffi , native "];
  for (const list of lists) {
    const names = list.split(",").map((s) => s.trim());
    const expected = names.find(loads);
    test(`=${JSON.stringify(list)} selects the first listed backend that loads here (${expected ?? "none"})`, () => {
      const result = info(list);
      assert.equal(result.info.forced, true);
      assert.deepEqual(result.info.allowed, names);
      assert.deepEqual(fallbackWarnings(result), [], "no warning when forced");
      if (expected) {
        assert.equal(result.ok, true, result.message);
        assert.equal(result.info.selected, expected);
      } else {
        assert.equal(result.ok, false);
        assert.equal(result.code, "ERR_MMAP_BACKEND");
        assert.equal(result.info.selected, null);
      }
    });
  }

  const badValues = ["turbo", "native,,koffi", "koffi, koffi"];
  for (const value of badValues) {
    test(`=${JSON.stringify(value)} fails at first use, naming the value and the valid names, and never falls back`, () => {
      const result = info(value);
      assert.equal(result.ok, false);
      assert.equal(result.code, "ERR_MMAP_BACKEND");
      assert.ok(result.message?.includes(JSON.stringify(value)), result.message);
      assert.ok(result.message?.includes("native, koffi, fallback"), result.message);
      assert.equal(result.info.selected, null);
      assert.equal(result.info.forced, true);
      assert.deepEqual(result.info.allowed, []);
      assert.equal(result.info.error, result.message);
    });
  }
});

describe(`${BACKEND_ENV} without native addons (--no-addons; Deno: no --allow-ffi)`, () => {
  const noAddons: ChildLimits = { noAddons: true };

  test("a list whose only member that loads is the fallback selects it, without a warning", () => {
    const result = info("native,fallback", noAddons);
    assertNoAddons(result);
    assert.equal(result.ok, true, result.message);
    assert.equal(result.info.selected, "fallback");
    assert.equal(result.info.forced, true);
    assert.deepEqual(fallbackWarnings(result), []);
  });

  test("a list of backends that do not load fails with each one's reason, never with an unlisted one", () => {
    const result = info("koffi,native", noAddons);
    assertNoAddons(result);
    assert.equal(result.ok, false);
    assert.equal(result.code, "ERR_MMAP_BACKEND");
    assert.ok(result.message?.includes(`koffi: ${reasonOf(result, "koffi")}`), result.message);
    assert.ok(result.message?.includes(`native: ${reasonOf(result, "native")}`), result.message);
    assert.equal(result.info.selected, null, "the fallback loads, but is not listed");
    assert.deepEqual(result.info.allowed, ["koffi", "native"]);
  });

  test("unset: the fallback, with exactly one PORTABLE_MMAP_FALLBACK warning per process", () => {
    // `info cjs` selects through the ESM and the CommonJS build: two copies of the package, one process.
    const child = runChild(["info", "cjs"], { [BACKEND_ENV]: undefined }, [], noAddons);
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout) as InfoResult;
    assertNoAddons(result);
    assert.equal(result.info.selected, "fallback");
    assert.equal(result.info.forced, false);
    assert.equal(result.cjs?.info.selected, "fallback");
    const warnings = fallbackWarnings(result);
    assert.equal(warnings.length, 1, JSON.stringify(result.warnings));
    const [warning] = warnings;
    assert.equal(warning?.name, "PortableMmapWarning");
    assert.ok(warning?.message.includes(`native: ${reasonOf(result, "native")}`), warning?.message);
    assert.ok(warning?.message.includes(`koffi: ${reasonOf(result, "koffi")}`), warning?.message);
    assert.match(warning?.message ?? "", /shares no memory with other processes or with other maps/);
    assert.match(warning?.message ?? "", /PORTABLE_MMAP_BACKEND=fallback/);
    assert.ok(child.stderr.includes(FALLBACK_WARNING), "the runtime shows the warning");
  });

  test("=fallback: the fallback, without a warning", () => {
    const result = info("fallback", noAddons);
    assertNoAddons(result);
    assert.equal(result.info.selected, "fallback");
    assert.deepEqual(fallbackWarnings(result), []);
  });
});

describe(`${BACKEND_ENV} where the environment cannot be read`, () => {
  const noEnv: ChildLimits = { noEnv: true };
  testUnless(unsupportedLimits(noEnv), "Deno without --allow-env: selection as if unset, nothing thrown", () => {
    // Were the value read, "turbo" would make selection fail.
    const result = info("turbo", noEnv);
    assert.equal(result.ok, true, result.message);
    assert.equal(result.info.forced, false);
    assert.deepEqual(result.info.allowed, ["native", "koffi", "fallback"]);
    assert.equal(result.info.selected, result.info.backends.find((b) => b.available)?.name);
    assert.equal(fallbackWarnings(result).length, result.info.selected === "fallback" ? 1 : 0);
  });
});
