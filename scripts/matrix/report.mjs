/**
 * The matrix's results: one table on stdout (a row per target, a column per
 * backend, numbered notes for every reason and skip), and the same as JSON.
 */
import * as fs from "node:fs";
import * as os from "node:os";

/** The backends, in the table's column order. */
export const backends = ["native", "koffi", "fallback"];

function cellText(cell, footnote) {
  if (!cell) return "-";
  switch (cell.status) {
    case "pass": {
      const skips = cell.skipped
        ? `, ${cell.skipped} skip ${footnote(cell.skips.map((s) => `skipped "${s.test}": ${s.reason}`).join("; "))}`
        : "";
      return `pass ${cell.passed}${skips} ${cell.seconds}s`;
    }
    case "fail":
      return `FAIL ${cell.failed} of ${cell.passed + cell.failed} ${footnote(cell.failures.map((f) => f.test).join("; "))}`;
    case "not available":
      return `${cell.required === false ? "n/a (not required)" : "N/A"} ${footnote(cell.reason)}`;
    default:
      return `not run ${footnote(cell.reason)}`;
  }
}

/**
 * The table as text: a row per target, a column per backend in `columns`,
 * the row's time (setting up its runtime included), then the numbered notes.
 */
export function table(targets, cells, columns = backends) {
  const notes = [];
  const footnote = (text) => {
    let index = notes.indexOf(text);
    if (index < 0) index = notes.push(text) - 1;
    return `[${index + 1}]`;
  };
  const rows = targets.map((t) => {
    const runtime = t.version ? `${t.runtime} ${t.version}` : t.runtime;
    const cellsOf = columns.map((b) =>
      cellText(
        cells.find((c) => c.target === t.id && c.backend === b),
        footnote,
      ),
    );
    const time = t.status === "not run" ? "" : `${Math.round(t.seconds)}s (setup ${Math.round(t.prepareSeconds)}s)`;
    return [t.label, runtime, ...cellsOf, time];
  });
  const header = ["target", "runtime", ...columns, "time"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cols) =>
    cols
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  if (notes.length) out.push("", ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return out.join("\n");
}

/**
 * Whether a cell counts against the run: a failure, or a backend that is not
 * available where it is required (all three unless PORTABLE_MMAP_REQUIRE
 * says otherwise). A row that cannot run here (macOS) never counts.
 */
export function failing(cell) {
  if (cell.status === "fail") return true;
  return cell.status === "not available" && cell.required !== false;
}

/** Writes the JSON report: the host, every target and every cell. */
export function writeJson(file, { targets, cells, seconds }) {
  let distro = "";
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux
  }
  const report = {
    generated: new Date().toISOString(),
    host: {
      platform: process.platform,
      arch: process.arch,
      os: distro,
      node: process.versions.node,
      cpus: os.cpus().length,
    },
    ok: !cells.some(failing),
    seconds,
    summary: {
      pass: cells.filter((c) => c.status === "pass").length,
      fail: cells.filter((c) => c.status === "fail").length,
      notAvailable: cells.filter((c) => c.status === "not available").length,
      notAvailableRequired: cells.filter((c) => c.status === "not available" && c.required !== false).length,
      notRun: cells.filter((c) => c.status === "not run").length,
    },
    targets,
    cells,
  };
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
