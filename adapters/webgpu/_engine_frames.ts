/**
 * The engine protocol's framing between processes: each message is a 4-byte little-endian
 * length and the message in V8's structured-serialization format (`node:v8`), which keeps
 * the protocol's bigint times and nested rows exactly as `postMessage` does between threads.
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";

/** The largest frame accepted (a step's records are a few KB; 64 MiB means a broken stream). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** One message as a frame. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = serialize(message);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  return out;
}

/**
 * Cuts a byte stream into messages. `push()` takes the next chunk as read and returns the
 * messages it completes; a partial frame waits for the next chunk.
 */
export class FrameDecoder {
  private buf = new Uint8Array(0);

  /** The messages completed by `chunk`, in order; throws on a length no frame can have. */
  push(chunk: Uint8Array): unknown[] {
    let buf = chunk;
    if (this.buf.length > 0) {
      buf = new Uint8Array(this.buf.length + chunk.length);
      buf.set(this.buf);
      buf.set(chunk, this.buf.length);
    }
    const out: unknown[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const n = new DataView(buf.buffer, buf.byteOffset + at, 4).getUint32(
        0,
        true,
      );
      if (n > MAX_FRAME_BYTES) {
        throw new Error(
          `Engine stream: a frame of ${n} bytes at byte ${at} of a chunk (at most ` +
            `${MAX_FRAME_BYTES}); something other than the engine wrote to the stream`,
        );
      }
      if (buf.length - at - 4 < n) break;
      out.push(deserialize(buf.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
    this.buf = buf.slice(at);
    return out;
  }

  /** Bytes of an incomplete frame held for the next chunk. */
  get pending(): number {
    return this.buf.length;
  }
}
