/**
 * Children of the suite in a confined world (Linux only): a private mount
 * namespace with a small file system of their own, lower resource limits,
 * no CAP_IPC_LOCK. Built from util-linux (`unshare`, `mount`, `prlimit`,
 * `setpriv`) and e2fsprogs (`mke2fs`) in front of `runtimeCommand`, so that
 * it works on Node, Bun and Deno and behind a launcher (qemu). Where a
 * machine cannot confine, `whyNot` says why, for the test's skip reason.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendName, type ChildResult, childScript, runtimeCommand, tempFile } from "./helpers.js";
import { lateLimitsVariable } from "./late-limits.js";

/** A fresh file system mounted at a new directory, seen only by the child. */
export type Mount =
  /** tmpfs: `size` as mount(8) takes it (`256k`), maybe with `noexec`. tmpfs has fallocate. */
  | { kind: "tmpfs"; size: string; noexec?: boolean }
  /** An ext2 image of `kib` KiB on a loop device: a file system without fallocate. */
  | { kind: "ext2"; kib: number };

/** Resource limits in bytes (`memlock`, `fsize`) or descriptors (`nofile`), soft and hard. */
export interface Limits {
  memlock?: number;
  fsize?: number;
  nofile?: number;
}

/** How a child is confined; every part is optional. */
export interface Confinement {
  mount?: Mount;
  /** Limits the child starts with. */
  limits?: Limits;
  /**
   * Soft limits the child puts on itself for the scenario only (late-limits.ts):
   * Deno writes its module caches (SQLite files in DENO_DIR) as it starts and
   * exits, and under a small RLIMIT_FSIZE would die by SIGXFSZ there.
   */
  lateLimits?: Limits;
  /** Drops CAP_IPC_LOCK where the suite runs as root, which would otherwise ignore RLIMIT_MEMLOCK. */
  noIpcLock?: boolean;
}

const root = process.getuid?.() === 0;

/** Where a program is: on PATH, or in the sbin folders a non-login PATH may lack. */
function which(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"];
  return dirs.map((dir) => path.join(dir, program)).find((file) => fs.existsSync(file));
}

/** Single-quoted for sh. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** prlimit's options for `limits`: soft and hard, or the soft limits only. */
function limitOptions(limits: Limits, which: "both" | "soft" = "both"): string[] {
  return Object.entries(limits).map(([name, value]) => `--${name}=${value}:${which === "both" ? value : ""}`);
}

function need(program: string): string {
  const found = which(program);
  if (!found) throw new Error(`needs ${program} (${program === "mke2fs" ? "e2fsprogs" : "util-linux"})`);
  return found;
}

/** What goes in front of the runtime, and what the child gets. */
interface Prepared {
  prefix: string[];
  env: Record<string, string>;
  /** A file system image to delete once the child has exited. */
  image?: string;
}

/** The mount(8) command line that mounts `mount` on `dir`, made in the suite's temporary folder. */
function mountCommand(mount: Mount, dir: string, prepared: Prepared): string {
  if (mount.kind === "tmpfs") {
    return `${quote(need("mount"))} -t tmpfs -o size=${mount.size}${mount.noexec ? ",noexec" : ""} tmpfs ${quote(dir)}`;
  }
  prepared.image = tempFile();
  // -m 0: no blocks reserved for root, so the file system is full for everyone at once.
  const made = spawnSync(need("mke2fs"), ["-q", "-t", "ext2", "-m", "0", "-F", prepared.image, String(mount.kib)], {
    encoding: "utf8",
  });
  if (made.status !== 0) throw new Error(`mke2fs failed: ${made.stderr || made.error?.message}`);
  return `${quote(need("mount"))} -o loop ${quote(prepared.image)} ${quote(dir)}`;
}

/** The programs in front of the runtime; throws if one is missing. */
function prepare(confinement: Confinement, dir: string, prepared: Prepared): void {
  const { mount, limits, lateLimits, noIpcLock } = confinement;
  if (mount) {
    // The mount lives and dies with the namespace: it is gone when the child exits. Other users
    // mount in a user namespace of their own, where the kernel lets them (tmpfs, not a loop device).
    const command = `${mountCommand(mount, dir, prepared)} && exec "$@"`;
    const user = root ? [] : ["--map-root-user"];
    prepared.prefix.push(need("unshare"), ...user, "--mount", "--propagation", "private", "sh", "-c", command, "sh");
  }
  if (limits) prepared.prefix.push(need("prlimit"), ...limitOptions(limits), "--");
  if (lateLimits) prepared.env[lateLimitsVariable] = JSON.stringify({ prlimit: need("prlimit"), limits: lateLimits });
  // Root passes the RLIMIT_MEMLOCK check with CAP_IPC_LOCK; on exec, root's capabilities are its bounding set.
  if (noIpcLock && root) prepared.prefix.push(need("setpriv"), "--bounding-set", "-ipc_lock", "--");
}

/** Spawns the prefix, `command` and `argsIn(dir)`, with `dir` a new mount point where the confinement mounts. */
function spawnConfined(
  confinement: Confinement,
  command: string,
  argsIn: (dir: string) => string[],
  env: Record<string, string>,
): ChildResult {
  const dir = confinement.mount ? fs.mkdtempSync(path.join(os.tmpdir(), "portable-mmap-mount-")) : "";
  const prepared: Prepared = { prefix: [], env: {} };
  try {
    prepare(confinement, dir, prepared);
    const [program, ...rest] = [...prepared.prefix, command, ...argsIn(dir)];
    const result = spawnSync(program as string, rest, {
      env: { ...env, ...prepared.env },
      encoding: "utf8",
      timeout: 120_000,
    });
    const stderr = `${result.stderr ?? ""}${result.error ? `\n${program}: ${result.error.message}` : ""}`;
    return { status: result.status, signal: result.signal, stdout: result.stdout ?? "", stderr };
  } finally {
    if (prepared.image) fs.rmSync(prepared.image, { force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const reasons = new Map<string, string | undefined>();

/**
 * Why a child cannot be confined so here, or undefined where it can: tries
 * the same confinement once, with a shell in place of the runtime.
 */
export function whyNot(confinement: Confinement): string | undefined {
  if (process.platform !== "linux") return "Linux only (mount namespaces, prlimit, /proc)";
  const key = JSON.stringify(confinement);
  if (!reasons.has(key)) {
    let reason: string | undefined;
    try {
      // Late limits: the same prlimit call, on the shell itself.
      const late = confinement.lateLimits;
      const script = late ? `${quote(need("prlimit"))} --pid $$ ${limitOptions(late, "soft").join(" ")}` : "exit 0";
      const probe = spawnConfined(confinement, "sh", () => ["-c", script], process.env as Record<string, string>);
      if (probe.status !== 0) {
        const said = probe.stderr.trim().split("\n").at(-1) ?? "";
        reason = `cannot confine a child here (${Object.keys(confinement).join(", ")}): ${said || `exit ${probe.status ?? probe.signal}`}`;
      }
    } catch (error) {
      reason = (error as Error).message;
    }
    reasons.set(key, reason);
  }
  return reasons.get(key);
}

/**
 * Runs `child.js <args>` (the suite's child, this runtime, this backend)
 * confined. `$DIR` in `args` stands for the directory the confinement
 * mounts its file system on (the child's files there vanish with it).
 */
export function runConfined(confinement: Confinement, args: string[]): ChildResult {
  const runtime = runtimeCommand();
  const env = { ...process.env, PORTABLE_MMAP_BACKEND: backendName } as Record<string, string>;
  const argsIn = (dir: string) => [...runtime.args, childScript, ...args.map((a) => a.replaceAll("$DIR", dir))];
  return spawnConfined(confinement, runtime.command, argsIn, env);
}
