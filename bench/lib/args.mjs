/** The command line of `npm run bench` (bench/run.mjs). */

export const usage = `Usage: npm run bench -- [options]
  --quick          smaller files and fewer samples (under 2 minutes); does not rewrite docs/performance.md
  --only NAME      run one scenario (repeatable, or NAME,NAME); does not rewrite docs/performance.md
  --list           list the scenarios and exit
  --write          rewrite docs/performance.md even after --quick or --only
  --no-write       print only, even after a full run
  --rounds N       measured rounds per scenario (default 5, 3 with --quick)
  --help           this text
Environment: CC (default cc), PYTHON (default python3), BUN (a bun executable;
default: the one the matrix cached, else bun on PATH).`;

/** Parses `argv` (without node and the script); throws an Error with a message for the user. */
export function parseArgs(argv) {
  const options = { quick: false, only: [], list: false, write: undefined, rounds: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--only") options.only.push(...value().split(","));
    else if (arg === "--list") options.list = true;
    else if (arg === "--write") options.write = true;
    else if (arg === "--no-write") options.write = false;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--rounds") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error("--rounds needs a positive integer");
      options.rounds = n;
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}
