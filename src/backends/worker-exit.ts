/**
 * The end of a worker thread, for backends that hold what a worker's
 * FinalizationRegistry can no longer give back once the worker has ended.
 *
 * @module
 */
import { isMainThread } from "node:worker_threads";

/**
 * Calls `listener` from this worker thread's `exit` event: the worker ended
 * by itself, by `process.exit()` or by an uncaught exception (nothing runs on
 * `worker.terminate()`). On the main thread it registers nothing: the
 * process ends.
 */
export function onWorkerExit(listener: () => void): void {
  if (isMainThread || typeof process.once !== "function") return;
  process.once("exit", listener);
}
