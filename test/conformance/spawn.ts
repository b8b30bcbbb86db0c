/**
 * A child process of the suite that keeps running while the test acts on it
 * (`spawn`, not `spawnSync`): wait for a line it prints, kill it, wait for
 * its end. The same child script and runtime as `runChild` (helpers.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { backendName, type ChildResult, childScript, runtimeCommand } from "./helpers.js";

/** A running `child.js`. */
export interface Running {
  readonly child: ChildProcess;
  /** Resolves when a line of its stdout is `line`; rejects if it ends first or after `ms`. */
  waitForLine(line: string, ms?: number): Promise<void>;
  /** Resolves when it has ended. */
  readonly ended: Promise<ChildResult>;
}

/** Starts `child.js <args>` with the backend under test; `runtimeArgs` as for `runChild`. */
export function startChild(args: string[], runtimeArgs: string[] = []): Running {
  const runtime = runtimeCommand(runtimeArgs);
  const child = spawn(runtime.command, [...runtime.args, childScript, ...args], {
    env: { ...process.env, PORTABLE_MMAP_BACKEND: backendName },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const ended = new Promise<ChildResult>((resolve) => {
    child.on("error", (error) => {
      stderr += `\n${runtime.command}: ${error.message}`;
    });
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  const waitForLine = (line: string, ms = 60_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const seen = (): boolean => stdout.split(/\r?\n/).includes(line);
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`no line "${line}" after ${ms} ms; stdout: ${stdout}\nstderr: ${stderr}`));
      }, ms);
      const check = (): void => {
        if (!seen()) return;
        clearTimeout(timer);
        child.stdout?.off("data", check);
        resolve();
      };
      child.stdout?.on("data", check);
      void ended.then(() => {
        clearTimeout(timer);
        if (seen()) resolve();
        else reject(new Error(`the child ended before printing "${line}": ${stdout}\nstderr: ${stderr}`));
      });
      check();
    });
  return { child, waitForLine, ended };
}
