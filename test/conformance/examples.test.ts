/**
 * The programs in `examples/`: each runs in a child of the same runtime with
 * the backend under test, as a user would run it (by file, importing the
 * package by its name), and must end with status 0 and print exactly the
 * expected lines. Their temporary folder (TMPDIR, TMP and TEMP point into the
 * suite's own) must be empty afterwards: every example removes what it made.
 *
 * The examples are found two folders above the built suite: `build/test/` in
 * the work tree, `.matrix/stage/build/test/` in the matrix's snapshot, which
 * copies `examples/` next to it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { backendName, type ChildResult, caps, pattern, runScript, tempFile } from "./helpers.js";

const examplesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "examples");

/** The suite's temporary folder (helpers.ts removes it at exit). */
const suiteDir = path.dirname(tempFile());

interface Run extends ChildResult {
  /** Lines of stdout, without the empty one after the last newline. */
  lines: string[];
  /** What the example left in its temporary folder. */
  leftOver: string[];
}

/** Runs `examples/<name>.mjs ...args` with its own empty temporary folder. */
function run(name: string, args: string[] = []): Run {
  const script = path.join(examplesDir, `${name}.mjs`);
  assert.ok(fs.existsSync(script), `${script} is missing (the matrix copies examples/ into its snapshot)`);
  const tmp = fs.mkdtempSync(path.join(suiteDir, `${name}-tmp-`));
  const result = runScript(script, args, { TMPDIR: tmp, TMP: tmp, TEMP: tmp });
  const lines = result.stdout.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return { ...result, lines, leftOver: fs.readdirSync(tmp) };
}

/** Asserts a run ended with status 0, printed exactly `lines` and removed its temporary files. */
function assertRun(r: Run, lines: string[]): void {
  const context = `status ${r.status}, signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.status, 0, context);
  assert.deepEqual(r.lines, lines, context);
  // Windows without placeholders keeps an unmapped file's view until it is collected, and
  // refuses to delete the file until then (capability releasesFileOnUnmap): the example says so on stderr.
  if (caps.releasesFileOnUnmap) assert.deepEqual(r.leftOver, [], `the example left files behind\n${context}`);
}

/** What scan-lines must print for `bytes`, counted another way: split at every newline. */
function scanLinesOutput(bytes: Buffer): string[] {
  const lines = bytes.toString("latin1").split("\n");
  if (lines.at(-1) === "") lines.pop(); // the newline ends the last line rather than starting one
  let longest = -1;
  let at = 0;
  lines.forEach((line, i) => {
    if (line.length > longest) {
      longest = line.length;
      at = i + 1;
    }
  });
  return [
    `lines: ${lines.length}`,
    `bytes: ${bytes.length}`,
    lines.length > 0 ? `longest line: ${longest} bytes (line ${at})` : "longest line: none",
  ];
}

/** 32-bit FNV-1a, as windows.mjs computes it. */
function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return `0x${h.toString(16).padStart(8, "0")}`;
}

/** Record `n` of append-log.mjs. */
const record = (n: number): string => `record ${n}: ${"ab".repeat(n % 23)}`;

/** Bytes the first `n` records of append-log.mjs take, with the 16-byte header. */
const logBytes = (n: number): number =>
  16 + Array.from({ length: n }, (_, i) => 4 + Buffer.byteLength(record(i + 1))).reduce((a, b) => a + b, 0);

/** Reads an append-log file independently of the example: its header, then every record. */
function readLog(file: string): { size: number; end: number; records: string[] } {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.toString("latin1", 0, 8), "PMMAPLOG");
  const end = bytes.readUInt32LE(8);
  const records: string[] = [];
  for (let at = 16; at < end; at += 4 + bytes.readUInt32LE(at)) {
    records.push(bytes.toString("utf8", at + 4, at + 4 + bytes.readUInt32LE(at)));
  }
  assert.equal(records.length, bytes.readUInt32LE(12), "the header counts every record");
  return { size: bytes.length, end, records };
}

/** Why shared-counter cannot start its second process here, if it cannot. */
function sharedCounterSkip(): string | undefined {
  if (!caps.sharesPageCache) return undefined; // then it only says it needs a real map, in one process
  if (process.env.PORTABLE_MMAP_TEST_LAUNCHER) {
    return "the example starts its child with process.execPath, which this host runs only through PORTABLE_MMAP_TEST_LAUNCHER (qemu-user without binfmt_misc)";
  }
  return undefined;
}

describe("examples", () => {
  test("scan-lines: counts the 200,000 lines of the file it makes", () => {
    assertRun(run("scan-lines"), ["lines: 200000", "bytes: 8688538", "longest line: 73 bytes (line 100039)"]);
  });

  test("scan-lines: a given file without a last newline, with CRLF and empty lines; an empty file", () => {
    const text = Buffer.from(`first\n\nsecond\r\n${"x".repeat(5000)}\nlast, no newline`);
    assertRun(run("scan-lines", [tempFile(text)]), scanLinesOutput(text));
    assert.deepEqual(scanLinesOutput(text).slice(0, 1), ["lines: 5"], "the reference counts too");
    assertRun(run("scan-lines", [tempFile()]), ["lines: 0", "bytes: 0", "longest line: none"]);
  });

  testUnless(sharedCounterSkip(), "shared-counter: two processes add 1,000,000 each with Atomics.add", () => {
    const r = run("shared-counter");
    if (caps.sharesPageCache) {
      assertRun(r, ["parent and child each added 1 1000000 times", "count: 2000000", "in the file: 2000000"]);
    } else {
      // The fallback gives every map a copy of the file: documented, and the example says so.
      assertRun(r, [
        `backend ${backendName}: every map is a copy of the file (sharesPageCache: false)`,
        "shared-counter needs memory shared between processes: run it with the native or koffi backend",
      ]);
    }
  });

  test("append-log: 200 records, flushed in batches, the map grown once, read back", () => {
    assertRun(run("append-log"), [
      "appended records 1 to 200, flushed every 50",
      "map grew: 4096 -> 8192 bytes",
      `read back 200 records, ${logBytes(200)} of 8192 bytes used, all as written`,
      `last: ${record(200)}`,
    ]);
  });

  test("append-log: a given log is continued by a second run; the file holds every record", () => {
    const file = tempFile(); // empty: a new log
    assertRun(run("append-log", [file]), [
      "appended records 1 to 200, flushed every 50",
      "map grew: 4096 -> 8192 bytes",
      `read back 200 records, ${logBytes(200)} of 8192 bytes used, all as written`,
      `last: ${record(200)}`,
    ]);
    assertRun(run("append-log", [file]), [
      "appended records 201 to 400, flushed every 50",
      "map grew: 8192 -> 16384 bytes",
      `read back 400 records, ${logBytes(400)} of 16384 bytes used, all as written`,
      `last: ${record(400)}`,
    ]);
    const log = readLog(file);
    assert.equal(log.size, 16384, "grow: true extended the file to the map");
    assert.equal(log.end, logBytes(400));
    assert.deepEqual(
      log.records,
      Array.from({ length: 400 }, (_, i) => record(i + 1)),
    );
  });

  test("append-log: a file that is not its log is refused, unchanged", () => {
    const contents = pattern(100);
    const file = tempFile(contents);
    const r = run("append-log", [file]);
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /is not a log of this example/);
    assert.deepEqual(fs.readFileSync(file), contents);
  });

  test("windows: the checksum over 11 windows of 100,000 bytes equals the one of a plain read", () => {
    assertRun(run("windows"), [
      "file: 1000003 bytes, window: 100000 bytes, 11 windows",
      "checksum over the windows: 0x990cd122",
      "checksum of a plain read:  0x990cd122",
    ]);
  });

  test("windows: a given file in windows of 4095 bytes (offsets off every page), and an empty file", () => {
    const contents = pattern(300_001, 5);
    const sum = fnv1a(contents);
    assertRun(run("windows", [tempFile(contents), "4095"]), [
      "file: 300001 bytes, window: 4095 bytes, 74 windows",
      `checksum over the windows: ${sum}`,
      `checksum of a plain read:  ${sum}`,
    ]);
    assertRun(run("windows", [tempFile()]), [
      "file: 0 bytes, window: 100000 bytes, 0 windows",
      `checksum over the windows: ${fnv1a(new Uint8Array(0))}`,
      `checksum of a plain read:  ${fnv1a(new Uint8Array(0))}`,
    ]);
  });

  test("scratch: zero-filled anonymous memory, a sieve in it, length 0 after unmap", () => {
    assertRun(run("scratch"), [
      "mapped 1000000 bytes of anonymous memory, 0 of them not zero",
      "primes below 1000000: 78498, the largest 999983",
      "after unmap(): length 0, unmapped true",
    ]);
    assertRun(run("scratch", ["100"]), [
      "mapped 100 bytes of anonymous memory, 0 of them not zero",
      "primes below 100: 25, the largest 97",
      "after unmap(): length 0, unmapped true",
    ]);
  });

  test("lookup-workers: four workers map the table themselves; every answer is right", () => {
    assertRun(run("lookup-workers"), [
      "table: 65536 entries, 262144 bytes",
      "worker 1: 1000 lookups, 1000 correct",
      "worker 2: 1000 lookups, 1000 correct",
      "worker 3: 1000 lookups, 1000 correct",
      "worker 4: 1000 lookups, 1000 correct",
      "4000 of 4000 answers correct",
    ]);
  });
});
