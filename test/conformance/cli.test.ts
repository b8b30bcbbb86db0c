/**
 * The `portable-mmap` command, as a user runs it: the package's bin file
 * (package.json "bin", two folders above the built suite: the work tree, or
 * the matrix's snapshot) in a child of the same runtime, with the backend
 * under test forced by PORTABLE_MMAP_BACKEND.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { adviceSupported, allocationGranularity, backendInfo, pageSize } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, type ChildResult, caps, runScript, runtimeCommand, tempFile } from "./helpers.js";

interface DenoGlobal {
  execPath(): string;
}
const deno = (globalThis as { Deno?: DenoGlobal }).Deno;

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};
const cli = path.join(root, pkg.bin["portable-mmap"] as string);

/** The suite's temporary folder (helpers.ts removes it at exit). */
const suiteDir = path.dirname(tempFile());

/**
 * Runs the CLI with `args`; `env` as for `runScript`, and without addons if
 * `noAddons`. Its temporary folder is in the suite's: `check` cannot remove
 * its files where unmapped views stay until collected (Windows without
 * placeholders), and the suite removes them at exit.
 */
function run(args: string[], env: Record<string, string | undefined> = {}, noAddons = false): ChildResult {
  assert.ok(fs.existsSync(cli), `${cli} (package.json "bin") is missing: build the library first`);
  const tmp = fs.mkdtempSync(path.join(suiteDir, "cli-tmp-"));
  return runScript(cli, args, { TMPDIR: tmp, TMP: tmp, TEMP: tmp, ...env }, [], noAddons ? { noAddons: true } : {});
}

function context(r: ChildResult): string {
  return `status ${r.status}, signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** The shape `info --json` documents (docs/troubleshooting.md), as far as the test reads it. */
interface InfoJson {
  schema: number;
  version: string;
  packageRoot: string | null;
  runtime: { name: string; version: string };
  platform: string;
  arch: string;
  selected: string | null;
  forced: boolean;
  allowed: string[];
  backendEnv: string | null;
  pageSize: number | null;
  allocationGranularity: number | null;
  addon: { path: string; relativePath: string; source: string; loaded: boolean } | null;
  backends: {
    name: string;
    available: boolean;
    shouldLoad: boolean;
    reason?: string;
    refusedByRuntime?: string;
    solutions?: string[];
    capabilities?: Record<string, boolean>;
    advice?: string[];
    lacks?: string[];
  }[];
}

function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  return versions.bun ? "bun" : versions.deno ? "deno" : "node";
}

describe("cli", () => {
  test("--version prints the version of package.json and exits 0", () => {
    const r = run(["--version"]);
    assert.equal(r.status, 0, context(r));
    assert.equal(r.stdout.trim(), pkg.version, context(r));
  });

  test("--help prints the usage, naming every command, and exits 0", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0, context(r));
    assert.match(r.stdout, /^usage: portable-mmap/, context(r));
    for (const word of ["info", "--json", "check", "--version"])
      assert.ok(r.stdout.includes(word), `${word}\n${context(r)}`);
  });

  test("an unknown command, an unknown option or no command is a usage error: status 2", () => {
    for (const args of [["frobnicate"], ["info", "--yaml"], ["check", "--json"], []]) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${context(r)}`);
      assert.match(r.stderr, /usage: portable-mmap/, context(r));
      assert.equal(r.stdout, "", context(r));
    }
  });

  test("info --json: the selected backend, its capabilities and sizes are the library's", () => {
    const r = run(["info", "--json"]);
    assert.equal(r.status, 0, context(r));
    const info = JSON.parse(r.stdout) as InfoJson;
    assert.equal(info.schema, 2);
    assert.equal(info.version, pkg.version);
    assert.equal(info.runtime.name, runtimeName());
    assert.equal(info.platform, process.platform);
    assert.equal(info.arch, process.arch);
    assert.equal(info.selected, backendName);
    assert.equal(info.forced, true);
    assert.equal(info.backendEnv, backendName);
    assert.deepEqual(info.allowed, [backendName]);
    assert.equal(info.pageSize, pageSize());
    assert.equal(info.allocationGranularity, allocationGranularity());
    assert.ok(
      info.packageRoot !== null && fs.realpathSync(info.packageRoot) === fs.realpathSync(root),
      info.packageRoot ?? "null",
    );
    const mine = backendInfo();
    assert.deepEqual(
      info.backends.map((b) => [b.name, b.available]),
      mine.backends.map((b) => [b.name, b.available]),
    );
    const selected = info.backends.find((b) => b.name === backendName);
    assert.deepEqual(selected?.capabilities, { ...caps });
    const advices = ["normal", "random", "sequential", "willneed", "dontneed"] as const;
    assert.deepEqual(
      selected?.advice,
      advices.filter((a) => adviceSupported(a)),
      "the advice info reports is adviceSupported()'s",
    );
    for (const b of info.backends) {
      if (b.available) {
        assert.equal(b.shouldLoad, true);
        assert.ok(Array.isArray(b.lacks), `${b.name}: lacks`);
        for (const name of b.lacks ?? []) assert.equal(b.capabilities?.[name], name === "needsDescriptor", name);
      } else {
        assert.ok(b.reason, `${b.name}: a reason`);
        assert.ok(b.solutions && b.solutions.length > 0, `${b.name}: possible solutions`);
      }
    }
  });

  test("info --json: where the native backend loads, the addon file it was loaded from", () => {
    const r = run(["info", "--json"]);
    assert.equal(r.status, 0, context(r));
    const info = JSON.parse(r.stdout) as InfoJson;
    const native = info.backends.find((b) => b.name === "native");
    if (native?.available) {
      assert.ok(info.addon, "addon is null although native loads");
      assert.equal(info.addon.loaded, true);
      assert.ok(fs.existsSync(info.addon.path), info.addon.path);
      assert.equal(path.resolve(info.packageRoot ?? "", info.addon.relativePath), path.resolve(info.addon.path));
      assert.ok(["build", "prebuild", "other"].includes(info.addon.source), info.addon.source);
    } else if (info.addon === null) {
      assert.match(native?.reason ?? "", /No native build was found|Requires \w+ access|not loadable/);
    } else {
      assert.equal(info.addon.loaded, false);
    }
  });

  test("info prints the version, the selected backend and every backend", () => {
    const r = run(["info"]);
    assert.equal(r.status, 0, context(r));
    assert.match(r.stdout, new RegExp(`version:\\s+${pkg.version.replace(/\./g, "\\.")}`), context(r));
    assert.match(r.stdout, new RegExp(`selected backend:\\s+${backendName}\\b`), context(r));
    for (const name of ["native", "koffi", "fallback"])
      assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), context(r));
  });

  test("check exits 0 here and reports every check of the backend under test", () => {
    const r = run(["check"]);
    assert.equal(r.status, 0, context(r));
    assert.match(r.stdout, new RegExp(`^${backendName}: available$`, "m"), context(r));
    const section = r.stdout.split(`${backendName}: available`)[1]?.split(/^\S/m)[0] ?? "";
    for (const name of ["round trip", "flushAsync", "advise", "residency", "lock"])
      assert.match(section, new RegExp(`^  ${name}\\s+(ok(: .+)?|skipped: .+)$`, "m"), `${name}\n${context(r)}`);
    const other = /^ {2}other process\s+(.*)$/m.exec(section)?.[1] ?? "";
    if (caps.sharesPageCache) assert.match(other, /^(ok|skipped: .+)/, context(r));
    else assert.match(other, /^skipped: not shared/, context(r));
    assert.match(section, /^ {2}lacks\s+\S/m, context(r));
    assert.match(r.stdout, /every backend that loads here works/, context(r));
  });

  test("check without addons (--no-addons, Deno without --allow-ffi) says so and still exits 0", () => {
    const r = run(["check"], { PORTABLE_MMAP_BACKEND: undefined }, true);
    assert.equal(r.status, 0, context(r));
    assert.match(r.stdout, /^native: not loaded \(refused on purpose, not a failure\)$/m, context(r));
    assert.match(r.stdout, /^koffi: not loaded \(refused on purpose, not a failure\)$/m, context(r));
    assert.match(r.stdout, /^fallback: available$/m, context(r));
  });
});

describe("cli check: what stops it", () => {
  test("check with no backend to select (PORTABLE_MMAP_BACKEND=bogus) says so and exits 1, as info does", () => {
    const r = run(["check"], { PORTABLE_MMAP_BACKEND: "bogus" });
    assert.equal(r.status, 1, context(r));
    assert.match(r.stdout, /^FAILED: no backend can be selected: .*bogus/m, context(r));
    assert.doesNotMatch(r.stdout, /every backend that loads here works/, context(r));
  });

  test("check with an unusable temporary folder (TMPDIR a regular file) says so once and exits 1", () => {
    const file = tempFile("not a folder");
    const r = run(["check"], { TMPDIR: file, TMP: file, TEMP: file });
    assert.equal(r.status, 1, context(r));
    assert.match(r.stderr, /cannot use the temporary folder/, context(r));
    assert.ok(r.stderr.includes(file), context(r));
    assert.match(r.stderr, /Set TMPDIR/, context(r));
    assert.doesNotMatch(r.stdout, /FAILED/, context(r));
  });

  testUnless(
    deno ? undefined : "only Deno runs a script without permission to read files or the environment",
    "--version under Deno without permissions prints the version of package.json",
    () => {
      const r = spawnSync((deno as DenoGlobal).execPath(), ["run", "--no-prompt", cli, "--version"], {
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal(r.stdout.trim(), pkg.version, r.stderr);
    },
  );

  testUnless(
    process.platform === "win32" ? "Windows has no SIGINT to send to another process" : undefined,
    "check interrupted by SIGINT removes its temporary folder and exits 130",
    async () => {
      const tmp = fs.mkdtempSync(path.join(suiteDir, "cli-tmp-"));
      const runtime = runtimeCommand();
      const child = spawn(runtime.command, [...runtime.args, cli, "check"], {
        env: { ...process.env, PORTABLE_MMAP_BACKEND: backendName, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let sent = false;
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      const [status, signal] = await new Promise<[number | null, string | null]>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk;
          // In the middle of the checks: the folder exists and holds files.
          if (!sent && /^ {2}lock/m.test(stdout)) {
            sent = true;
            child.kill("SIGINT");
          }
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          resolve([code, signal]);
        });
      });
      const out = `status ${status}, signal ${signal}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
      assert.ok(sent, `never reached the lock check\n${out}`);
      const dir = /temporary files in (.+)$/m.exec(stdout)?.[1] ?? "";
      assert.ok(dir, out);
      // Its handler ran (not the default action, which leaves the folder).
      assert.ok(stderr.includes(`interrupted by SIGINT; removed ${dir}`), out);
      // Deno's child_process reports a child it sent a signal as ended by that
      // signal (status null) even when the child exits with a status of its own.
      if (deno) assert.ok(status === 130 || (status === null && signal === "SIGINT"), out);
      else assert.equal(status, 130, out);
      assert.equal(fs.existsSync(dir), false, `${dir} is left behind\n${out}`);
      assert.deepEqual(
        fs.readdirSync(tmp).filter((f) => f.startsWith("portable-mmap-check-")),
        [],
        out,
      );
    },
  );
});
