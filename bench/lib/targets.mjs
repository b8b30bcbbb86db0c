/** The targets a scenario states, each printed PASS, FAIL or NOT MEASURED (which counts as a failure). */
import { formatRatio } from "./stats.mjs";

/**
 * `a / b <= limit` (or `>= limit` with `at: "least"`), from the medians of two rows; a row missing
 * (unavailable here) makes the target NOT MEASURED, with why.
 */
export function ratioTarget(text, a, b, limit, { at = "most" } = {}) {
  if (!a || !b || a.unavailable || b.unavailable) {
    const missing = [a, b].find((r) => !r || r.unavailable);
    return {
      text,
      verdict: "NOT MEASURED",
      measured: `${missing?.name ?? "a contender"} did not run: ${missing?.unavailable ?? "missing"}`,
    };
  }
  const ratio = a.median / b.median;
  const pass = at === "most" ? ratio <= limit : ratio >= limit;
  return {
    text,
    verdict: pass ? "PASS" : "FAIL",
    measured: `${formatRatio(ratio)} (target ${at === "most" ? "<=" : ">="} ${formatRatio(limit)})`,
    ratio,
  };
}

/** A target whose contender `r` did not run (or is missing): NOT MEASURED, saying why. */
export function notMeasured(text, r) {
  return {
    text,
    verdict: "NOT MEASURED",
    measured: r ? `${r.name} did not run: ${r.unavailable}` : "a contender is missing",
  };
}

/** A target with a verdict computed by the scenario. */
export function checkTarget(text, pass, measured) {
  return { text, verdict: pass === undefined ? "NOT MEASURED" : pass ? "PASS" : "FAIL", measured };
}
