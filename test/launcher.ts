/**
 * PORTABLE_MMAP_TEST_LAUNCHER: a program (or a JSON array of a program and
 * its arguments) that goes in front of every child the tests start, for a
 * runtime the host cannot run by itself (the matrix's arm64 Node under
 * qemu-user, without binfmt_misc).
 */

/** `command args` as the tests start it: behind the launcher where one is set. */
export function withLauncher(command: string, args: string[]): { command: string; args: string[] } {
  const launcher = process.env.PORTABLE_MMAP_TEST_LAUNCHER;
  if (!launcher) return { command, args };
  const prefix: string[] = launcher.startsWith("[") ? JSON.parse(launcher) : [launcher];
  return { command: prefix[0] as string, args: [...prefix.slice(1), command, ...args] };
}
