/**
 * A vitest reporter beside the default one: after the run, every skipped
 * test with its reason (`ctx.skip(reason)`, see unless.ts), one line each, as
 * the bundled suite's harness prints `# SKIP <reason>`. The default reporter
 * shows the reasons only for files with a failure.
 */
import type { Reporter, TestCase } from "vitest/node";

export default class SkipReasons implements Reporter {
  readonly #lines: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const result = testCase.result();
    if (result.state !== "skipped") return;
    this.#lines.push(`[${testCase.project.name}] ${testCase.fullName}: ${result.note ?? "(no reason given)"}`);
  }

  onTestRunEnd(): void {
    if (this.#lines.length === 0) return;
    console.log(`\n${this.#lines.length} skipped, with their reasons:`);
    for (const line of this.#lines) console.log(`  skipped ${line}`);
  }
}
