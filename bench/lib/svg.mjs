/** A horizontal bar chart as a standalone SVG: one bar per contender, its median written at its end. */

const xmlEscape = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/**
 * `bars`: `[{ label, value, text, highlight }]`; the longest bar is the
 * largest value. Returns the SVG document as a string.
 */
export function barChart({ title, subtitle: given, bars }) {
  let subtitle = given;
  const labelWidth = 250;
  const barWidth = 380;
  const valueWidth = 130;
  const rowHeight = 26;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const min = Math.max(Math.min(...bars.map((b) => b.value)), max * 1e-6);
  // Contenders 30x apart or more: a log scale, so the short bars stay readable.
  const log = max / min >= 30;
  const scale = log
    ? (v) => (Math.log10(Math.max(v, min) / min) + 0.25) / (Math.log10(max / min) + 0.25)
    : (v) => v / max;
  if (log) subtitle = `${subtitle ? `${subtitle}; ` : ""}log scale`;
  const top = subtitle ? 52 : 36;
  const width = labelWidth + barWidth + valueWidth;
  const height = top + bars.length * rowHeight + 12;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="22" font-size="15" font-weight="600" fill="#1f2328">${xmlEscape(title)}</text>`,
  ];
  if (subtitle) parts.push(`<text x="8" y="40" fill="#59636e">${xmlEscape(subtitle)}</text>`);
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, Math.round(scale(b.value) * barWidth));
    const fill = b.highlight ? "#0969da" : "#8c959f";
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end" fill="#1f2328">${xmlEscape(b.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" rx="2" fill="${fill}"/>`,
      `<text x="${labelWidth + w + 6}" y="${y + 16}" fill="#1f2328">${xmlEscape(b.text)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
