/**
 * Parsing the command line of `portable-mmap`.
 *
 * @module
 */

/** What the command line asks for. */
export type Invocation =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "info"; json: boolean }
  | { kind: "check" }
  /** The hidden subcommand `check` starts in a child process (see `other-process.ts`). */
  | { kind: "child"; args: string[] }
  /** A usage error: `message` says what is wrong (exit status 2). */
  | { kind: "usage-error"; message: string };

/** The hidden subcommand the check's child process runs; not part of the documented interface. */
export const CHILD_COMMAND = "__check-child";

/** Parses the arguments after the script's path (`process.argv.slice(2)`). */
export function parseArgs(argv: readonly string[]): Invocation {
  const [command, ...rest] = argv;
  if (command === CHILD_COMMAND) return { kind: "child", args: rest };
  if (command === undefined) return { kind: "usage-error", message: "a command is missing" };
  if (command === "--help" || command === "-h" || command === "help") {
    return rest.length === 0 ? { kind: "help" } : { kind: "usage-error", message: `unexpected ${rest[0]}` };
  }
  if (command === "--version" || command === "-v") {
    return rest.length === 0 ? { kind: "version" } : { kind: "usage-error", message: `unexpected ${rest[0]}` };
  }
  if (command === "info") {
    const unknown = rest.find((a) => a !== "--json");
    if (unknown !== undefined) return { kind: "usage-error", message: `unknown option of info: ${unknown}` };
    return { kind: "info", json: rest.includes("--json") };
  }
  if (command === "check") {
    if (rest.length > 0) return { kind: "usage-error", message: `unknown option of check: ${rest[0]}` };
    return { kind: "check" };
  }
  return { kind: "usage-error", message: `unknown command: ${command}` };
}
