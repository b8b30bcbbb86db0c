/**
 * No silent loss when the process dies: a child writes through RDWR maps,
 * flushes part of it, writes more, and is killed with SIGKILL (on Windows,
 * kill() is TerminateProcess). Every flushed byte must be in the file; on
 * real maps (`sharesPageCache`) the unflushed ones too, since the page cache
 * outlives the process. The fallback documents that unflushed writes die
 * with the process: there, exactly the flushed bytes changed.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "vitest";
import { layout, sizes } from "./durability-child.js";
import { caps, tempFile } from "./helpers.js";
import { startChild } from "./spawn.js";

/** The file as it must be after the kill. */
function expected(): Buffer {
  const bytes = Buffer.alloc(sizes.after); // the growth adds zeros
  bytes.fill(0x41, 0, sizes.before);
  // In the child's order: a later store over the same bytes wins where it survives.
  for (const part of [layout.a, layout.d, layout.e, layout.c, layout.b]) {
    if (part.flushed || caps.sharesPageCache) bytes.fill(part.value, part.from, part.to);
  }
  return bytes;
}

describe("durability", () => {
  test("SIGKILL after flush: flushed bytes are in the file; on real maps the unflushed ones too", async () => {
    const file = tempFile(Buffer.alloc(sizes.before, 0x41));
    const running = startChild(["durability", file]);
    await running.waitForLine("ready");
    running.child.kill("SIGKILL");
    const ended = await running.ended;
    if (process.platform !== "win32") assert.equal(ended.signal, "SIGKILL", ended.stderr);
    const got = fs.readFileSync(file);
    const want = expected();
    assert.equal(got.length, want.length, "the growth happened before the kill");
    const at = got.findIndex((byte, i) => byte !== want[i]);
    assert.equal(
      at,
      -1,
      `byte ${at}: 0x${got[at]?.toString(16)}, expected 0x${want[at]?.toString(16)} (sharesPageCache: ${caps.sharesPageCache})`,
    );
  });
});
