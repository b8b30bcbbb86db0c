/** How a descriptor was opened, where the system says so: /proc/self/fdinfo on Linux. */
import * as fs from "node:fs";

const linux = process.platform === "linux";

/**
 * The open flags of `fd` (`O_ACCMODE` bits, `O_APPEND`, ...) from
 * /proc/self/fdinfo, or undefined where they cannot be read: other systems,
 * and Deno without --allow-all (it refuses every path under /proc/self).
 */
export function descriptorFlags(fd: number): number | undefined {
  if (!linux) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch {
    return undefined;
  }
  const flags = /^flags:\s+([0-7]+)$/m.exec(text)?.[1];
  return flags === undefined ? undefined : Number.parseInt(flags, 8);
}
