/** Summaries of repeated measurements: the median, and the spread as the half-range around it. */

/** The median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Half the distance between the smallest and largest sample, as a fraction of the median (0.05 = ±5%). */
export function spread(values) {
  const m = median(values);
  if (!(m > 0)) return 0;
  return (Math.max(...values) - Math.min(...values)) / 2 / m;
}

/** A number with thousands separators and `digits` decimals. */
export function formatNumber(value, digits = 0) {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A duration in nanoseconds, in the unit that keeps 3-4 significant digits. */
export function formatNs(ns) {
  if (ns < 0) return `-${formatNs(-ns)}`;
  if (ns >= 1e9) return `${formatNumber(ns / 1e9, 2)} s`;
  if (ns >= 1e6) return `${formatNumber(ns / 1e6, ns >= 1e8 ? 0 : 1)} ms`;
  if (ns >= 1e4) return `${formatNumber(ns / 1e3, ns >= 1e5 ? 0 : 1)} µs`;
  if (ns >= 1e3) return `${formatNumber(ns / 1e3, 2)} µs`;
  return `${formatNumber(ns, ns >= 100 ? 0 : 1)} ns`;
}

/** A ratio as `1.23x`. */
export const formatRatio = (ratio) => `${ratio >= 100 ? formatNumber(ratio, 0) : ratio.toFixed(2)}x`;
