/**
 * Byte-level pieces shared by tokentrace's HTTP/1.1 client (adapters/openai/_h1.ts) and the
 * scripted server's HTTP/1.1 server (adapters/scripted/raw_http.ts).
 *
 * @module
 */

/**
 * Index of the blank line (`\r\n\r\n`) that ends a message head in `b[from, to)`, or -1.
 *
 * @example
 * ```ts
 * import { headEnd } from "./_http1.ts";
 * const b = new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\nbody");
 * console.log(headEnd(b, 0, b.length)); // 23
 * ```
 */
export function headEnd(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** Writes all of `bytes` (a socket write may take only part). */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
