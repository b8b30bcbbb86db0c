/**
 * A BYOB read: ordinary JavaScript that moves a buffer's memory. Reading
 * into a view of a map detaches the map's `ArrayBuffer` and hands its memory
 * to a new one, which the read returns.
 */

/** Reads one byte, 7, into `view` through a byte stream; the view's buffer is detached and the result holds its memory. */
export async function byobRead(view: Uint8Array): Promise<Uint8Array> {
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest as ReadableStreamBYOBRequest;
      (request.view as Uint8Array)[0] = 7;
      request.respond(1);
    },
  });
  const { value } = await stream.getReader({ mode: "byob" }).read(view);
  return value as Uint8Array;
}
