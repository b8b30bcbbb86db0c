/**
 * The benchmark's outputs: the table printed after each scenario, and
 * docs/performance.md with one SVG chart per table (docs/performance/*.svg),
 * all generated from one run's numbers.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatNs, formatNumber, formatRatio } from "./stats.mjs";
import { barChart } from "./svg.mjs";

const MiB = 2 ** 20;

/** The median of a row in the section's unit, as text. */
export function formatValue(section, value) {
  return section.unit === "bytes" ? `${formatNumber(value / MiB, value < 100 * MiB ? 2 : 0)} MiB` : formatNs(value);
}

function ratioTo(section, r) {
  const base = section.baseline && section.rows.find((x) => x.name === section.baseline && !x.unavailable);
  return base && r !== base ? formatRatio(r.median / base.median) : "";
}

/** The rows of a section as lines for the terminal. */
export function printSection(section, log) {
  log(
    `  ${section.title} (median per ${section.per}, ± half the range of the samples${section.baseline ? `, vs ${section.baseline}` : ""}):`,
  );
  for (const r of section.rows) {
    if (r.unavailable) log(`    ${r.name.padEnd(36)} not measured: ${r.unavailable}`);
    else {
      const cells = [
        formatValue(section, r.median).padStart(10),
        `±${(r.spread * 100).toFixed(0)}%`.padStart(5),
        ratioTo(section, r).padStart(8),
      ];
      log(`    ${r.name.padEnd(36)} ${cells.join(" ")}${r.extra ? `  ${r.extra}` : ""}`);
    }
  }
}

const slug = (text) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

const cell = (text) => String(text).replace(/\|/g, "\\|");

function machineLines(machine) {
  const lines = [
    `- CPU: ${machine.cpu}, ${machine.cores} cores; ${machine.memoryGiB} GiB of memory`,
    `- OS: ${machine.os}`,
    `- Node ${machine.node} (the portable-mmap contenders, fs, @riaskov/mmap-io)`,
  ];
  for (const [what, value] of [
    ["Bun", machine.bun],
    ["Python", machine.python],
    ["C compiler", machine.cc],
    ["Peer", machine.mmapIo],
    ["For the 64 GiB maps", machine.largeNode],
  ]) {
    if (value) lines.push(`- ${what}: ${value}`);
  }
  return lines;
}

/**
 * Writes `docs/performance.md` and its charts from `results`
 * (`[{ scenario, sections, targets, seconds }]`) and `machine`.
 * `intro` and `notes` are the hand-written text around the numbers.
 */
export function writeReport({ docsDir, machine, results, intro, command, seconds }) {
  const chartDir = join(docsDir, "performance");
  mkdirSync(chartDir, { recursive: true });
  for (const old of readdirSync(chartDir)) if (old.endsWith(".svg")) rmSync(join(chartDir, old));
  const md = ["---", "title: Performance", "group: Guides", "---", "", "# Performance", "", ...intro, ""];
  md.push(
    "## The machine",
    "",
    ...machineLines(machine),
    "",
    `Measured on ${machine.date} with \`${command}\` in ${Math.round(seconds)} s.`,
    "",
  );
  md.push("## Targets", "", "| | target | measured |", "| --- | --- | --- |");
  for (const { scenario, targets } of results) {
    for (const t of targets)
      md.push(`| ${t.verdict} | ${cell(scenario.title)}: ${cell(t.text)} | ${cell(t.measured)} |`);
  }
  md.push("");
  for (const { scenario, sections, analysis = [] } of results) {
    md.push(`## ${scenario.title}`, "", scenario.about, "");
    for (const line of analysis) md.push(`- ${line}`);
    if (analysis.length) md.push("");
    for (const section of sections) {
      const hasExtra = section.rows.some((r) => r.extra);
      const header = ["contender", `median per ${section.per}`, "±"];
      if (section.baseline) header.push(`vs ${cell(section.baseline)}`);
      if (hasExtra) header.push("");
      const columns = header.length;
      md.push(`### ${section.title}`, "", `| ${header.join(" | ")} |`, `|${" --- |".repeat(columns)}`);
      for (const r of section.rows) {
        if (r.unavailable) {
          md.push(`| ${cell(r.name)} | not measured: ${cell(r.unavailable)} |${" |".repeat(columns - 2)}`);
          continue;
        }
        const cells = [cell(r.name), formatValue(section, r.median), `±${(r.spread * 100).toFixed(0)}%`];
        if (section.baseline) cells.push(ratioTo(section, r));
        if (hasExtra) cells.push(r.extra ?? "");
        md.push(`| ${cells.join(" | ")} |`);
      }
      const bars = section.rows
        .filter((r) => !r.unavailable)
        .map((r) => ({
          label: r.name,
          value: r.median,
          text: formatValue(section, r.median),
          highlight: /^(native|koffi|fallback)/.test(r.name),
        }));
      if (bars.length) {
        const file = `${slug(scenario.name)}-${slug(section.title)}.svg`;
        const title = `${scenario.title}: ${section.title}`;
        writeFileSync(
          join(chartDir, file),
          barChart({
            title,
            subtitle:
              section.unit === "bytes"
                ? "resident memory added; shorter is better"
                : `median per ${section.per}; shorter is better`,
            bars,
          }),
        );
        md.push("", `![${title}](./performance/${file})`);
      }
      md.push("");
    }
  }
  writeFileSync(join(docsDir, "performance.md"), `${md.join("\n")}\n`);
}
