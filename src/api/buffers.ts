/** Buffer limits and detaching of plain JavaScript-owned ArrayBuffers. */
import { constants } from "node:buffer";

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
