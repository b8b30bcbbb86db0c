/** Argument checks with Node's error codes, shared by the whole API. */
import { invalidArgType, outOfRange } from "./errors.js";

/**
 * Checks that `value` is an integer `number` (or `bigint`, where allowed) in
 * `[min, max]` and returns it as a number. Wrong type: `ERR_INVALID_ARG_TYPE`;
 * not an integer or out of range: `ERR_OUT_OF_RANGE`.
 */
export function checkInteger(name: string, value: unknown, min: number, max: number, allowBigInt = false): number {
  if (typeof value === "bigint" && allowBigInt) {
    if (value < BigInt(min) || value > BigInt(max)) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
    return Number(value);
  }
  if (typeof value !== "number") {
    throw invalidArgType(name, allowBigInt ? "of type number or bigint" : "of type number", value);
  }
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}
