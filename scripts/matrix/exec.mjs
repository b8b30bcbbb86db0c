/**
 * Starting programs for the matrix. Long-running ones write stdout and stderr
 * to a log file, never to a pipe: Node under Wine fails with EBADF when its
 * stdout is a pipe, and a file keeps the full output for later. The file is
 * read as it grows, so callers see each line as it is written.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Runs a short command and returns its stdout (trimmed); throws with its
 * stderr if it fails. For quick queries only (`npm view`, `dpkg-query`).
 */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout || "").trim().split("\n").slice(-5).join("\n");
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}: ${why}`);
  }
  return result.stdout.trim();
}

/**
 * How to start npm: through npm's own script with this Node when the matrix
 * runs under `npm run` (npm_execpath), else the `npm` on PATH (on Windows
 * `npm.cmd`, which needs a shell). Returns `[command, ...args]` and the
 * spawn option `shell`.
 */
export function npm(args) {
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli)) return { command: process.execPath, args: [cli, ...args], shell: false };
  if (process.platform === "win32") return { command: "npm.cmd", args, shell: true };
  return { command: "npm", args, shell: false };
}

/** Whether `command` is found on PATH (or is an existing file). */
export function exists(command) {
  if (command.includes("/")) return fs.existsSync(command);
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

/**
 * Runs `command args` with its output going to `log` (created anew), and calls
 * `onLine` for every line as it appears. Kills the whole process group after
 * `timeoutMs`. Resolves with the exit status; never rejects for a failing
 * command (only when it cannot be started at all: `status` null and `error`).
 */
export function runLogged(command, args, { log, env = process.env, cwd, timeoutMs = 0, onLine, shell = false } = {}) {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const fd = fs.openSync(log, "w");
  const start = Date.now();
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args, { env, cwd, shell, stdio: ["ignore", fd, fd], detached: true, windowsHide: true });
    } catch (error) {
      fs.closeSync(fd);
      resolve({ status: null, signal: null, timedOut: false, error, seconds: 0 });
      return;
    }
    fs.closeSync(fd);
    let position = 0;
    let partial = "";
    const read = () => {
      let text = "";
      try {
        const readFd = fs.openSync(log, "r");
        try {
          const size = fs.fstatSync(readFd).size;
          if (size > position) {
            const buffer = Buffer.alloc(size - position);
            fs.readSync(readFd, buffer, 0, buffer.length, position);
            position = size;
            text = buffer.toString("utf8");
          }
        } finally {
          fs.closeSync(readFd);
        }
      } catch {
        return;
      }
      if (!text || !onLine) return;
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    };
    const poll = setInterval(read, 250);
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {
              child.kill("SIGKILL");
            }
          }, timeoutMs)
        : undefined;
    const finish = (status, signal, error) => {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      read();
      if (partial && onLine) onLine(partial);
      resolve({ status, signal, timedOut, error, seconds: (Date.now() - start) / 1000 });
    };
    child.on("error", (error) => finish(null, null, error));
    child.on("close", (status, signal) => finish(status, signal));
  });
}

/** The last `n` lines of a log file (empty if it does not exist). */
export function tail(log, n = 30) {
  try {
    return fs.readFileSync(log, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "";
  }
}
