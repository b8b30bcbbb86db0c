/** The `advise()` values, checked once for `MMap.advise` and `adviceSupported`. */
import type { Advice } from "../backends/contract.js";
import { invalidArgType, invalidArgValue } from "./errors.js";
import { selectedBackend } from "./select.js";

const advices: readonly Advice[] = ["normal", "random", "sequential", "willneed", "dontneed"];

/** Throws Node-style errors for anything but one of the five advice strings. */
export function checkAdvice(advice: unknown): Advice {
  if (typeof advice !== "string") throw invalidArgType("advice", "of type string", advice);
  if (!advices.includes(advice as Advice)) {
    throw invalidArgValue("advice", advice, `must be one of ${advices.join(", ")}`);
  }
  return advice as Advice;
}

/**
 * Whether {@link MMap.advise} with `advice` reaches a system call that acts
 * on it, with the selected backend on this system (memmap2's
 * `is_supported`). `advise` never fails for a value that is not supported:
 * advice is a hint, and it then does nothing. Selects the backend if none is
 * selected yet.
 *
 * - Linux (native, koffi): all but `dontneed` (glibc and musl make
 *   `posix_madvise(POSIX_MADV_DONTNEED)` a no-op).
 * - macOS, FreeBSD (native, koffi): all five.
 * - Windows (native, koffi): only `willneed` (`PrefetchVirtualMemory`).
 * - The fallback backend: none (its pages are plain memory).
 *
 * @param advice One of the {@link Advice} values.
 * @throws `TypeError` `ERR_INVALID_ARG_TYPE` for an `advice` that is not a
 * string, `ERR_INVALID_ARG_VALUE` for an unknown one.
 * @throws `Error` `ERR_MMAP_BACKEND` where no backend loads.
 * @example Read ahead where the system can, else read the bytes once
 * ```ts
 * import { adviceSupported } from "portable-mmap";
 *
 * if (adviceSupported("willneed")) m.advise("willneed");
 * ```
 */
export function adviceSupported(advice: Advice): boolean {
  const checked = checkAdvice(advice);
  return selectedBackend().advice.includes(checked);
}
