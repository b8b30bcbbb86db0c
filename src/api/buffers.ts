/** Buffer limits and detaching of plain JavaScript-owned ArrayBuffers. */
import { constants } from "node:buffer";
import { busyError } from "./errors.js";

/** The largest buffer the running runtime can create (4 GiB on Node 20 and Bun). */
export const maxLength: number = constants.MAX_LENGTH;

type Transferable = ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer };

/**
 * Detaches an ArrayBuffer whose memory JavaScript owns, so that every view on
 * it reads length 0. `transfer(0)` where the runtime has it (Node >= 21, Bun,
 * Deno); elsewhere a structured-clone transfer, which detaches plain buffers.
 * Not for external buffers over mapped memory: Node 20 copies those silently.
 */
export function detachPlain(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0 && isDetached(buffer)) return;
  const transfer = (buffer as Transferable).transfer;
  if (typeof transfer === "function") transfer.call(buffer, 0);
  else structuredClone(buffer, { transfer: [buffer] });
}

/**
 * Detaches a buffer whose memory JavaScript owns without freeing that
 * memory: it moves to the returned buffer (`transfer()` where the runtime has
 * it, else a structured-clone transfer). Work on the thread pool that still
 * writes into the memory (crypto.randomFill, fs.read) then writes into memory
 * that stays allocated for as long as the returned buffer is kept.
 *
 * @throws EBUSY where the buffer stays attached: Bun's `transfer()` of a
 * buffer native code is working on (`fs.read`) returns a copy and leaves the
 * buffer as it was.
 */
export function moveOut(buffer: ArrayBuffer): ArrayBuffer {
  const transfer = (buffer as Transferable).transfer;
  const moved =
    typeof transfer === "function" ? transfer.call(buffer) : structuredClone(buffer, { transfer: [buffer] });
  if (buffer.byteLength !== 0) throw busyError("ArrayBuffer.prototype.transfer");
  return moved;
}

/** Whether a buffer is detached (`detached` where the runtime has it, else a failing view). */
export function isDetached(buffer: ArrayBuffer): boolean {
  const flag = (buffer as ArrayBuffer & { detached?: boolean }).detached;
  if (typeof flag === "boolean") return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}
