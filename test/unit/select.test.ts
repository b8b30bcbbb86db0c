/**
 * Backend selection with injected loaders, so that every branch runs on any
 * host: lists, bad values, nothing loadable, and the warning when automatic
 * selection lands on the fallback. The conformance suite covers the same
 * through the package in child processes, with backends that really fail.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "vitest";
import type { CodedError } from "../../src/api/errors.js";
import {
  FALLBACK_WARNING_CODE,
  FALLBACK_WARNING_TYPE,
  fallbackWarningMessage,
  type LoadFailure,
  warnFallback,
} from "../../src/api/fallback-warning.js";
import { createSelector } from "../../src/api/select.js";
import { BACKEND_ENV, backendNames, parseBackendSetting, readBackendEnv } from "../../src/api/setting.js";
import { ADDON_INTERFACE, type Addon, checkInterface } from "../../src/backends/addon.js";
import type { Backend, BackendName } from "../../src/backends/contract.js";

/** A selector over fake backends: those in `loadable` load, the others throw `<name> is missing here`. */
function fakeSelector(setting: string | undefined, loadable: readonly BackendName[]) {
  const loads: BackendName[] = [];
  const fallbacks: (readonly LoadFailure[])[] = [];
  const loader = (name: BackendName) => (): Backend => {
    loads.push(name);
    if (!loadable.includes(name)) throw new Error(`${name} is missing here`);
    return { name, capabilities: { sharesPageCache: name !== "fallback" } } as unknown as Backend;
  };
  const selector = createSelector({
    loaders: { native: loader("native"), koffi: loader("koffi"), fallback: loader("fallback") },
    readSetting: () => setting,
    onFallback: (failures) => fallbacks.push(failures),
  });
  return { selector, loads, fallbacks };
}

function throwsBackendError(fn: () => unknown): CodedError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error);
    assert.equal((error as CodedError).code, "ERR_MMAP_BACKEND");
    return error as CodedError;
  }
  throw new Error("expected ERR_MMAP_BACKEND, nothing was thrown");
}

const badValues = [
  "native,,koffi",
  "native,",
  ",fallback",
  " , ",
  "native,native",
  "fallback , fallback",
  "native,turbo",
  "Native",
  "native koffi",
];

describe("backend setting", () => {
  test("unset, empty or blank: automatic, every backend in order", () => {
    for (const value of [undefined, "", "   "]) {
      assert.deepEqual(parseBackendSetting(value), { forced: false, allowed: ["native", "koffi", "fallback"] });
    }
  });

  test("one name or a comma list, whitespace around names ignored, order kept", () => {
    assert.deepEqual(parseBackendSetting("koffi"), { forced: true, allowed: ["koffi"] });
    assert.deepEqual(parseBackendSetting(" fallback ,native "), { forced: true, allowed: ["fallback", "native"] });
    assert.deepEqual(parseBackendSetting("koffi,\tnative,fallback"), {
      forced: true,
      allowed: ["koffi", "native", "fallback"],
    });
  });

  test("an empty entry, a duplicate or an unknown name is an error naming the value and the valid names", () => {
    for (const value of badValues) {
      const setting = parseBackendSetting(value);
      assert.equal(setting.forced, true, value);
      assert.deepEqual(setting.allowed, [], value);
      assert.ok(setting.error?.includes(`${BACKEND_ENV}=${JSON.stringify(value)}`), `${setting.error}`);
      assert.ok(setting.error?.includes(backendNames.join(", ")), `${setting.error}`);
    }
    assert.match(parseBackendSetting("native,,koffi").error ?? "", /empty entry/);
    assert.match(parseBackendSetting("fallback , fallback").error ?? "", /names fallback twice/);
    assert.match(parseBackendSetting("native,turbo").error ?? "", /names "turbo", not a backend/);
  });

  test("readBackendEnv reads the variable where the environment is readable", () => {
    const saved = process.env[BACKEND_ENV];
    try {
      process.env[BACKEND_ENV] = "koffi,native";
      assert.equal(readBackendEnv(), "koffi,native");
      delete process.env[BACKEND_ENV];
      assert.equal(readBackendEnv(), undefined);
    } finally {
      if (saved === undefined) delete process.env[BACKEND_ENV];
      else process.env[BACKEND_ENV] = saved;
    }
  });
});

describe("selection", () => {
  test("a list selects the first listed backend that loads and never loads an unlisted one", () => {
    const { selector, loads } = fakeSelector("koffi,fallback", ["native", "fallback"]);
    assert.equal(selector.selected().name, "fallback");
    assert.deepEqual(loads, ["koffi", "fallback"]);
    const info = selector.info();
    assert.equal(info.selected, "fallback");
    assert.equal(info.forced, true);
    assert.deepEqual(info.allowed, ["koffi", "fallback"]);
  });

  test("the list's order, not the automatic order", () => {
    const { selector, loads } = fakeSelector("fallback,native", ["native", "koffi", "fallback"]);
    assert.equal(selector.selected().name, "fallback");
    assert.deepEqual(loads, ["fallback"]);
  });

  test("when no listed backend loads, ERR_MMAP_BACKEND carries each one's reason and no other is tried", () => {
    const { selector, loads } = fakeSelector("native,koffi", ["fallback"]);
    const error = throwsBackendError(() => selector.selected());
    assert.match(error.message, /native: native is missing here/);
    assert.match(error.message, /koffi: koffi is missing here/);
    assert.match(error.message, /PORTABLE_MMAP_BACKEND=native,koffi/);
    assert.deepEqual(loads, ["native", "koffi"]);
    // The same error at every call, without loading anything again.
    assert.equal(
      throwsBackendError(() => selector.selected()),
      error,
    );
    assert.deepEqual(loads, ["native", "koffi"]);
    const info = selector.info();
    assert.equal(info.selected, null);
    assert.equal(info.error, error.message);
    assert.deepEqual(info.allowed, ["native", "koffi"]);
    // backendInfo still reports every backend, so it tries the unlisted one, without selecting it.
    assert.equal(info.backends.find((b) => b.name === "fallback")?.available, true);
  });

  test("one forced name that does not load: its reason, and no other is tried", () => {
    const { selector, loads } = fakeSelector(" koffi ", ["native", "fallback"]);
    const error = throwsBackendError(() => selector.selected());
    assert.equal(
      error.message,
      "The koffi backend is not available: koffi is missing here (PORTABLE_MMAP_BACKEND=koffi allows no other)",
    );
    assert.deepEqual(loads, ["koffi"]);
  });

  test("a bad value throws at the first call without loading anything; info() reports it and never throws", () => {
    for (const value of badValues) {
      const { selector, loads } = fakeSelector(value, ["native", "koffi", "fallback"]);
      const error = throwsBackendError(() => selector.selected());
      assert.ok(error.message.includes(JSON.stringify(value)), error.message);
      assert.deepEqual(loads, []);
      const info = selector.info();
      assert.equal(info.selected, null);
      assert.equal(info.forced, true);
      assert.deepEqual(info.allowed, []);
      assert.equal(info.error, error.message);
    }
  });

  test("each backend is loaded once, however often selection and info are asked", () => {
    const { selector, loads } = fakeSelector(undefined, ["koffi", "fallback"]);
    for (let i = 0; i < 3; i++) {
      assert.equal(selector.selected().name, "koffi");
      selector.info();
      selector.load("fallback");
    }
    assert.deepEqual(loads.toSorted(), ["fallback", "koffi", "native"]);
  });

  test("automatic selection with nothing loadable names every reason", () => {
    const { selector } = fakeSelector(undefined, []);
    const error = throwsBackendError(() => selector.selected());
    assert.match(error.message, /native: native is missing here; koffi: koffi is missing here; fallback: fallback/);
    assert.equal(selector.info().forced, false);
  });

  test("automatic selection landing on the fallback reports it once, with native's and koffi's reasons", () => {
    const { selector, fallbacks } = fakeSelector(undefined, ["fallback"]);
    assert.equal(selector.selected().name, "fallback");
    selector.selected();
    selector.info();
    assert.deepEqual(fallbacks, [
      [
        { name: "native", reason: "native is missing here" },
        { name: "koffi", reason: "koffi is missing here" },
      ],
    ]);
  });

  test("no fallback report when the fallback is forced, or when native or koffi is selected", () => {
    const cases: [string | undefined, BackendName[], BackendName][] = [
      ["fallback", ["fallback"], "fallback"],
      ["native,fallback", ["fallback"], "fallback"],
      ["koffi , fallback", ["native", "fallback"], "fallback"],
      [undefined, ["native", "koffi", "fallback"], "native"],
      [undefined, ["koffi", "fallback"], "koffi"],
    ];
    for (const [setting, loadable, expected] of cases) {
      const { selector, fallbacks } = fakeSelector(setting, loadable);
      assert.equal(selector.selected().name, expected);
      selector.info();
      assert.deepEqual(fallbacks, [], `${setting}`);
    }
  });
});

describe("fallback warning", () => {
  const failures: LoadFailure[] = [
    { name: "native", reason: "no prebuilt addon for sparc" },
    { name: "koffi", reason: "koffi could not be loaded: nope" },
  ];

  test("says why native and koffi were not used, what the fallback does not do, and the way out", () => {
    const message = fallbackWarningMessage(failures);
    assert.match(message, /native: no prebuilt addon for sparc; koffi: koffi could not be loaded: nope/);
    assert.match(message, /shares no memory with other processes or with other maps of the same file/);
    assert.match(message, /docs\/fallback\.md/);
    assert.match(message, /PORTABLE_MMAP_BACKEND=fallback/);
  });

  test("does nothing, and throws nothing, where process.emitWarning does not exist", () => {
    const saved = process.emitWarning;
    try {
      (process as { emitWarning?: unknown }).emitWarning = undefined;
      warnFallback(failures);
    } finally {
      process.emitWarning = saved;
    }
  });

  test("is emitted exactly once per process, with its code and type", () => {
    // A recorder in place of process.emitWarning keeps the test's output clean;
    // the conformance suite watches the real warning in child processes.
    const calls: unknown[][] = [];
    const saved = process.emitWarning;
    try {
      process.emitWarning = ((...args: unknown[]) => calls.push(args)) as typeof process.emitWarning;
      warnFallback(failures);
      warnFallback(failures);
    } finally {
      process.emitWarning = saved;
    }
    assert.deepEqual(calls, [
      [fallbackWarningMessage(failures), { type: FALLBACK_WARNING_TYPE, code: FALLBACK_WARNING_CODE }],
    ]);
  });
});

describe("native addon interface", () => {
  const addon = (interfaceVersion?: number) => ({ interfaceVersion }) as unknown as Addon;
  test("an addon of this build's interface is used", () => {
    const a = addon(ADDON_INTERFACE);
    assert.equal(checkInterface(a, "/x/portable_mmap.node"), a);
  });
  test("an addon built from other sources is refused, naming the file and the way out", () => {
    for (const version of [undefined, ADDON_INTERFACE - 1, ADDON_INTERFACE + 1]) {
      assert.throws(
        () => checkInterface(addon(version), "/x/portable_mmap.node"),
        (error: Error) =>
          error.message.includes("/x/portable_mmap.node") &&
          error.message.includes(`interface ${version ?? 1}`) &&
          error.message.includes("npm run build:native"),
      );
    }
  });
});
