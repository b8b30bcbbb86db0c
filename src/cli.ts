#!/usr/bin/env node
/**
 * `npx portable-mmap info`: the selected backend, every backend's
 * availability and why, the page size and the allocation granularity.
 * `npx portable-mmap check`: maps a temporary file with every available
 * backend, checks read, write, flush and unmap, prints a table, and exits
 * non-zero on failure.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RDWR } from "./api/constants.js";
import { mapFileWith } from "./api/map.js";
import { type BackendInfo, backendInfo, loadBackend } from "./api/select.js";
import { BACKEND_ENV, backendNames } from "./api/setting.js";
import type { BackendName } from "./backends/contract.js";

function forced(result: BackendInfo): string {
  if (!result.forced) return "";
  return result.allowed.length > 0
    ? ` (${BACKEND_ENV} allows ${result.allowed.join(", ")})`
    : ` (${BACKEND_ENV} is not valid)`;
}

function info(): number {
  const result = backendInfo();
  const selected = result.selected ? loadBackend(result.selected) : undefined;
  console.log(`selected backend:        ${result.selected ?? "none"}${forced(result)}`);
  if (result.error) console.log(`selection error:         ${result.error}`);
  if (selected) {
    console.log(`page size:               ${selected.pageSize}`);
    console.log(`allocation granularity:  ${selected.allocationGranularity}`);
  }
  console.log(`runtime:                 ${runtime()} on ${process.platform}-${process.arch}`);
  console.log("backends:");
  for (const b of result.backends) {
    console.log(`  ${b.name.padEnd(9)} ${b.available ? "available" : `not available: ${b.reason}`}`);
  }
  return result.selected ? 0 : 1;
}

function runtime(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `Bun ${versions.bun}`;
  if (versions.deno) return `Deno ${versions.deno}`;
  return `Node.js ${process.version}`;
}

/** One round trip through a backend: write through a map, flush, read back with fs, unmap. */
function checkBackend(name: BackendName, file: string): string {
  const size = 3 * 65536 + 123;
  fs.writeFileSync(file, Buffer.alloc(size, 1));
  const m = mapFileWith(loadBackend(name), file, { prot: RDWR, offset: 70000 });
  if (m.length !== size - 70000 || m[0] !== 1) throw new Error("read back the wrong bytes");
  m.fill(7, 0, 1000);
  m.flush();
  const afterFlush = fs.readFileSync(file);
  if (afterFlush[70000] !== 7 || afterFlush[70999] !== 7 || afterFlush[71000] !== 1)
    throw new Error("flush did not write");
  m[m.length - 1] = 9;
  m.unmap();
  if (m.length !== 0 && loadBackend(name).capabilities.detachesOnUnmap) throw new Error("not detached by unmap");
  if (fs.readFileSync(file)[size - 1] !== 9) throw new Error("unmap did not write back");
  return "ok";
}

function check(): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-check-"));
  let failures = 0;
  console.log(`checking every backend with a temporary file in ${dir}`);
  console.log(`${"backend".padEnd(10)}result`);
  try {
    for (const name of backendNames) {
      let result: string;
      try {
        loadBackend(name);
      } catch (error) {
        console.log(`${name.padEnd(10)}not available: ${(error as Error).message}`);
        continue;
      }
      try {
        result = checkBackend(name, path.join(dir, `${name}.bin`));
      } catch (error) {
        failures++;
        result = `FAILED: ${(error as Error).message}`;
      }
      console.log(`${name.padEnd(10)}${result}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} backend(s) failed` : "every available backend works");
  return failures ? 1 : 0;
}

const usage = `usage: portable-mmap <command>
  info    the selected backend, every backend's availability, page size, allocation granularity
  check   map a temporary file with every available backend and verify read/write/flush/unmap`;

const command = process.argv[2];
if (command === "info") process.exitCode = info();
else if (command === "check") process.exitCode = check();
else {
  console.error(usage);
  process.exitCode = command === undefined || command === "help" || command === "--help" ? 0 : 2;
}
