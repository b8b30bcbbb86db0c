/**
 * What the matrix prints while it works: step headings, plain notes, and a
 * status line for long steps (downloads, installs, suite runs). On a terminal
 * the status line is rewritten in place; elsewhere (CI logs) it is printed as
 * a new line at most every `quietMs`, so a long step still shows it is alive.
 */

const tty = Boolean(process.stdout.isTTY);
const quietMs = 15_000;
const started = Date.now();

/** Seconds since `since` (ms), with one decimal. */
export function seconds(since) {
  return Math.round((Date.now() - since) / 100) / 10;
}

/** `1234567` bytes as "1.2 MB". */
export function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A duration in seconds as "42 s" or "3 min 5 s". */
export function duration(secs) {
  const s = Math.round(secs);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

let open = false;

function clearStatus() {
  if (open && tty) process.stdout.write("\r\x1b[K");
  open = false;
}

/** A heading for one part of the run, with the time since the matrix started. */
export function step(text) {
  clearStatus();
  console.log(`\n== ${text} (${duration((Date.now() - started) / 1000)} in)`);
}

/** One line of information. */
export function note(text) {
  clearStatus();
  console.log(`   ${text}`);
}

/** A warning line (never fatal by itself). */
export function warn(text) {
  clearStatus();
  console.log(`   ! ${text}`);
}

/**
 * Starts a status line for a long step. `render()` returns the current text,
 * shown every half second on a terminal. Elsewhere it is printed at most every
 * 15 s, and at once when `announce` is set (for downloads and installs, so a
 * log says what is under way). Returns `stop(finalText?)`, which prints the
 * final text as an ordinary note.
 */
export function status(render, { announce = false } = {}) {
  const intervalMs = tty ? 500 : 2_000;
  let lastPrinted = 0;
  let lastText = "";
  const show = () => {
    const text = render();
    if (tty) {
      const width = (process.stdout.columns || 100) - 4;
      process.stdout.write(`\r\x1b[K   ${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      open = true;
    } else if (Date.now() - lastPrinted >= quietMs && text !== lastText) {
      console.log(`   ... ${text}`);
      lastPrinted = Date.now();
      lastText = text;
    }
  };
  lastPrinted = Date.now(); // the first plain line after quietMs, not at once
  if (announce && !tty) {
    lastText = render();
    console.log(`   ... ${lastText}`);
  }
  const timer = setInterval(show, intervalMs);
  timer.unref();
  return (finalText) => {
    clearInterval(timer);
    clearStatus();
    if (finalText) note(finalText);
  };
}
