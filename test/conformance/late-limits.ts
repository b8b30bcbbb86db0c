/**
 * Resource limits a child of the suite puts on itself once it has started,
 * and takes off again before it exits (confine.ts `lateLimits`), for limits
 * its runtime cannot start or exit under: Deno writes its module caches
 * (SQLite files in DENO_DIR) as it starts and as it exits, and a small
 * RLIMIT_FSIZE would end it by SIGXFSZ there.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";

/** The variable that hands them over: JSON `{ prlimit, limits }`, limits as prlimit's options name them. */
export const lateLimitsVariable = "PORTABLE_MMAP_TEST_PRLIMIT";

/** How /proc/self/limits names each limit. */
const labels: Record<string, string> = {
  fsize: "Max file size",
  nofile: "Max open files",
  memlock: "Max locked memory",
};

/** The soft limit `name` (as prlimit's options name it) has now: "unlimited" or a number, as /proc/self/limits shows it. */
export function softLimit(name: string): string {
  const line = fs
    .readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith(labels[name] ?? name));
  const soft = line?.slice(26).trim().split(/\s+/)[0];
  if (!soft) throw new Error(`no ${name} in /proc/self/limits`);
  return soft;
}

function prlimit(program: string, options: string[]): void {
  const set = spawnSync(program, ["--pid", String(process.pid), ...options], { encoding: "utf8" });
  if (set.status !== 0) throw new Error(`${program} ${options.join(" ")} failed: ${set.stderr ?? set.error}`);
}

/**
 * Lowers the soft limits the parent handed over, if any (`prlimit --pid`),
 * and returns what puts them back.
 */
export function applyLateLimits(): () => void {
  const late = process.env[lateLimitsVariable];
  if (!late) return () => {};
  const { prlimit: program, limits } = JSON.parse(late) as { prlimit: string; limits: Record<string, number> };
  const names = Object.keys(limits);
  // Soft limits only ("N:"): the hard ones stay, so that the soft ones can go back up.
  const before = names.map((name) => `--${name}=${softLimit(name)}:`);
  const lowered = names.map((name) => `--${name}=${limits[name]}:`);
  prlimit(program, lowered);
  return () => prlimit(program, before);
}
