/**
 * The `portable-mmap` command: parses the arguments and runs the command.
 *
 * @module
 */
import { parseArgs } from "./args.js";
import { check } from "./check.js";
import { info } from "./info.js";
import { otherProcessChild } from "./other-process.js";
import { packageVersion } from "./package-version.js";
import { usage } from "./usage.js";

/**
 * Runs the command line `argv` (the arguments after the script) and returns
 * the exit status: 0 success, 1 a failure, 2 a usage error. `cliFile` is the
 * CLI's own file, which `check` runs again in a child process.
 */
export async function main(argv: readonly string[], cliFile: string): Promise<number> {
  const invocation = parseArgs(argv);
  switch (invocation.kind) {
    case "help":
      console.log(usage);
      return 0;
    case "version":
      console.log(packageVersion());
      return 0;
    case "info":
      return info(invocation.json);
    case "check":
      return check(cliFile);
    case "child":
      return otherProcessChild(invocation.args);
    case "usage-error":
      console.error(`portable-mmap: ${invocation.message}\n\n${usage}`);
      return 2;
  }
}
