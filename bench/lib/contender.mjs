/**
 * A contender: one long-lived child process (or a pair, for the shared
 * counter) that sets up once, then answers each `run` line on its standard
 * input with one line: a JSON object with at least `ns` (nanoseconds per
 * operation) or `value`. Its first line is `ready`, or `unavailable WHY` when
 * it cannot run here (a backend that does not load, a missing tool).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Starts the children of `spec` ({ name, command, args, env, copies }); resolves to the contender, or to { name, unavailable }. */
export async function startContender(spec) {
  let children = await startChildren(spec);
  if (typeof children === "string") return { name: spec.name, unavailable: children };
  return {
    name: spec.name,
    spec,
    samples: [],
    results: [],
    /** Ends the children and starts new ones (a fresh process, its own address space and JIT state). */
    async restart() {
      for (const c of children) c.close();
      const fresh = await startChildren(spec);
      if (typeof fresh === "string") throw new Error(`${spec.name}: ${fresh}`);
      children = fresh;
    },
    /** One repetition in every child at once; the result of one child, or `{ ns, parts }` (the slowest) for a pair. */
    async run() {
      for (const c of children) c.send("run");
      const lines = await Promise.all(children.map((c) => c.next()));
      const parts = lines.map((line) => parseResult(spec.name, line));
      if (parts.length === 1) return parts[0];
      return { ns: Math.max(...parts.map((p) => p.ns)), parts };
    },
    close() {
      for (const c of children) c.close();
    },
  };
}

/** The children of `spec`, each past its `ready` line; or why they cannot run. */
async function startChildren(spec) {
  const copies = spec.copies ?? 1;
  const children = [];
  for (let i = 0; i < copies; i++) children.push(startChild(spec, i));
  const firsts = await Promise.all(children.map((c) => c.next().catch((error) => `unavailable ${error.message}`)));
  const bad = firsts.find((line) => line !== "ready");
  if (bad === undefined) return children;
  for (const c of children) c.close();
  const why = bad.startsWith("unavailable ")
    ? bad.slice("unavailable ".length)
    : `unexpected output ${JSON.stringify(bad)}`;
  return why.replace(/\s+/g, " ").trim();
}

function parseResult(name, line) {
  if (line.startsWith("error ")) throw new Error(`${name}: ${line.slice(6)}`);
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    throw new Error(`${name}: unexpected output ${JSON.stringify(line)}`);
  }
  if (typeof result === "number") result = { ns: result };
  if (!Number.isFinite(result.ns) && !Number.isFinite(result.value)) {
    throw new Error(`${name}: no measurement in ${JSON.stringify(line)}`);
  }
  return result;
}

function startChild(spec, index) {
  const child = spawn(spec.command, [...spec.args, ...(spec.copies > 1 ? [`copy=${index}`] : [])], {
    env: { ...process.env, ...spec.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  child.stdin.on("error", () => {}); // a child that exited early is reported by next()
  const failure = new Promise((resolve) => child.on("error", (error) => resolve(error.message)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      const outcome = await Promise.race([lines.next(), failure]);
      if (typeof outcome === "string") throw new Error(`${spec.command}: ${outcome}`);
      if (outcome.done) {
        await new Promise((resolve) =>
          child.exitCode !== null || child.signalCode ? resolve() : child.on("exit", resolve),
        );
        const how = child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
        const last = stderr.trim().split("\n").slice(-3).join(" | ");
        throw new Error(`${spec.name}: the child exited (${how})${last ? `: ${last}` : ""}`);
      }
      return outcome.value;
    },
    send(line) {
      child.stdin.write(`${line}\n`);
    },
    close() {
      child.stdin.end();
    },
  };
}
