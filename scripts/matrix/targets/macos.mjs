/**
 * macOS cannot run on this machine (no macOS VM on Linux x64). The row stays
 * in the table, marked not run; `.github/workflows/matrix.yml` runs the same
 * suite on GitHub's macOS runners (x64 and arm64).
 */

/** The macOS row, never run here. */
export const macosTarget = {
  id: "darwin-node",
  platform: "darwin-x64/arm64",
  runtime: "node",
  label: "darwin x64/arm64 Node 20-26",
  notRun: "macOS cannot run on this machine; .github/workflows/matrix.yml runs this row on GitHub's macOS runners",
};
