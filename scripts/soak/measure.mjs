// What a soak child measures of its own process (Linux /proc): every mapping,
// the mappings of one file, open descriptors, resident memory, and the
// selected backend's own count of its mappings, where it keeps one.
import * as fs from "node:fs";
import { backendInfo } from "../../dist/index.js";

/** The figures of this process now; `file` is the soak's test file. */
export function measure(file) {
  const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter(Boolean);
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const info = backendInfo();
  const counts = info.backends.find((b) => b.name === info.selected)?.mappings;
  return {
    lines: maps.length,
    ofFile: maps.filter((line) => line.endsWith(file)).length,
    fds: fs.readdirSync("/proc/self/fd").length,
    rssMiB: Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024),
    // JavaScript-owned buffer memory: what the fallback's maps are made of.
    buffersMiB: Math.round(process.memoryUsage().arrayBuffers / 2 ** 20),
    live: counts?.live ?? 0,
    retired: counts?.retired ?? 0,
  };
}

/** The larger of each figure, for the peak inside a loop. */
export function peak(a, b) {
  return Object.fromEntries(Object.keys(b).map((key) => [key, Math.max(a?.[key] ?? 0, b[key])]));
}
