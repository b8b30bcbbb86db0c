/**
 * A test that runs only where it can: `testUnless(reason, name, body)` runs
 * `body` when `reason` is undefined, and otherwise registers the test as
 * skipped with `reason` as its note (vitest's `ctx.skip(note)`), so the
 * reason shows in vitest's report and in the bundled suite's output alike.
 */
import { type TestContext, test } from "vitest";

export function testUnless(
  reason: string | undefined,
  name: string,
  body: (context: TestContext) => void | Promise<void>,
): void {
  if (reason === undefined) test(name, body);
  else test(name, (context) => context.skip(reason));
}
