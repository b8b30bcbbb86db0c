/**
 * The arguments of `MMapCursor`'s methods, read without running any code of
 * the caller's: numbers must be numbers (no `valueOf` is called, so no
 * argument can unmap the map between the checks and the access), and byte
 * arguments are read through the typed-array intrinsics, never through
 * `length` or `buffer` properties an object could define for itself.
 */
import { invalidArgType, outOfRange } from "./errors.js";
import { checkInteger } from "./validate.js";

type Getter = (this: unknown) => unknown;

/** A getter of a built-in prototype, taken once when this module loads. */
function intrinsicGetter(prototype: object, key: PropertyKey): Getter {
  return Object.getOwnPropertyDescriptor(prototype, key)?.get as Getter;
}

const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
const tagOf = intrinsicGetter(typedArray, Symbol.toStringTag);
const bufferOf = intrinsicGetter(typedArray, "buffer");
const byteOffsetOf = intrinsicGetter(typedArray, "byteOffset");
const byteLengthOf = intrinsicGetter(typedArray, "byteLength");
const apply = Reflect.apply;

const empty = new Uint8Array(0);

/** Whether `value` is a real `Uint8Array` (a `Buffer` or an `MMap` too; a `Proxy` is not). */
function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && apply(tagOf, value, []) === "Uint8Array";
}

/**
 * A fresh view over the same bytes as `value` (a `Uint8Array`, or a string,
 * encoded as UTF-8), so that nothing later reads a property the caller could
 * have redefined. A view whose memory moved away or was unmapped has no bytes.
 */
export function bytesArg(name: string, value: unknown): Uint8Array {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (!isUint8Array(value)) throw invalidArgType(name, "of type string or an instance of Uint8Array", value);
  const length = apply(byteLengthOf, value, []) as number;
  if (length === 0) return empty;
  return new Uint8Array(apply(bufferOf, value, []) as ArrayBuffer, apply(byteOffsetOf, value, []) as number, length);
}

/** What `find` and `rfind` look for: a byte, or a sequence of bytes. */
export function needleArg(value: unknown): number | Uint8Array {
  if (typeof value === "number") return byteArg("sub", value);
  if (typeof value !== "string" && !isUint8Array(value)) {
    throw invalidArgType("sub", "of type string or number or an instance of Uint8Array", value);
  }
  return bytesArg("sub", value);
}

/** A byte value: an integer from 0 to 255. */
export function byteArg(name: string, value: unknown): number {
  return checkInteger(name, value, 0, 255);
}

/**
 * An integer `number` that is exact in JavaScript (a safe integer; Python's
 * `ssize_t` has a bound too).
 */
export function integerArg(name: string, value: unknown): number {
  return checkInteger(name, value, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
}

/** As {@link integerArg}, where `undefined` and `null` mean the default: they give `undefined`. */
export function optionalIntegerArg(name: string, value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : integerArg(name, value);
}

/** An index from 0 to `max`, for `move`. */
export function indexArg(name: string, value: number, max: number): number {
  if (value < 0 || value > max) throw outOfRange(name, `>= 0 && <= ${max}`, value);
  return value;
}

/**
 * Python's slice bounds for `find` and `rfind`: a negative index counts from
 * the end, and both are clamped to `[0, length]` (CPython's `mmap_gfind`).
 */
export function clampIndex(index: number, length: number): number {
  const from = index < 0 ? index + length : index;
  return Math.min(Math.max(from, 0), length);
}
