/**
 * `portable-mmap info`: the report as text, or as JSON with `--json`.
 *
 * @module
 */
import { BACKEND_ENV } from "../api/setting.js";
import { collectInfo, type InfoReport } from "./report.js";
import { runtimeLabel } from "./runtime.js";

function selection(r: InfoReport): string {
  if (!r.forced) return r.selected ?? "none";
  const why = r.allowed.length > 0 ? `${BACKEND_ENV} allows ${r.allowed.join(", ")}` : `${BACKEND_ENV} is not valid`;
  return `${r.selected ?? "none"} (${why})`;
}

/** A reason on one line (node-gyp-build's has a second one, "loaded from: ..."). */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, "; ");
}

/**
 * Why no addon file is listed: none for this platform, or (Deno) a refused
 * permission kept node-gyp-build from looking.
 */
function addonNotFound(r: InfoReport): string {
  const reason = r.backends.find((b) => b.name === "native")?.reason ?? "";
  const denied = /Requires (\w+) access/.exec(reason);
  if (denied) return `could not look (Deno permission: runs without --allow-${denied[1]})`;
  return "none found for this platform";
}

/** The report as lines of text. */
export function formatInfo(r: InfoReport): string[] {
  const row = (label: string, value: string) => `${`${label}:`.padEnd(25)}${value}`;
  const lines = [
    row("portable-mmap version", r.version),
    row("runtime", `${runtimeLabel(r.runtime)} on ${r.platform}-${r.arch}${r.libc ? ` (${r.libc})` : ""}`),
    row("selected backend", selection(r)),
  ];
  if (r.selectionError) lines.push(row("selection error", r.selectionError));
  if (r.pageSize !== null) lines.push(row("page size", String(r.pageSize)));
  if (r.allocationGranularity !== null) lines.push(row("allocation granularity", String(r.allocationGranularity)));
  lines.push(
    row(
      "native addon",
      r.addon
        ? `${r.addon.relativePath} (${r.addon.source === "build" ? "a local build" : r.addon.source === "prebuild" ? "the prebuild" : "found elsewhere"}${r.addon.loaded ? "" : ", did not load"})`
        : addonNotFound(r),
    ),
  );
  if (r.addon) lines.push(`${"".padEnd(25)}${r.addon.path}`);
  lines.push("backends:");
  for (const b of r.backends) {
    if (b.available) {
      lines.push(`  ${b.name.padEnd(9)} available`);
      const flags = Object.entries(b.capabilities ?? {}).map(([k, v]) => `${k}=${v}`);
      lines.push(`    capabilities: ${flags.join(" ")}`);
      lines.push(`    lacks: ${b.lacks?.length ? b.lacks.join(", ") : "nothing"}`);
      lines.push(`    advice that reaches the system: ${b.advice?.length ? b.advice.join(", ") : "none"}`);
      continue;
    }
    lines.push(`  ${b.name.padEnd(9)} not available: ${oneLine(b.reason ?? "")}`);
    if (b.refusedByRuntime) lines.push(`    refused on purpose: ${b.refusedByRuntime}`);
    for (const s of b.solutions ?? []) lines.push(`    possible solution: ${s}`);
  }
  return lines;
}

/** Runs `info`; returns the exit status (0, or 1 when no backend can be selected). */
export function info(json: boolean): number {
  const report = collectInfo();
  if (json) console.log(JSON.stringify(report, null, 2));
  else for (const line of formatInfo(report)) console.log(line);
  return report.selected ? 0 : 1;
}
