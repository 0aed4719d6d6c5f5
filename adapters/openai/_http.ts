/**
 * HTTP helpers private to the OpenAI adapter: capped body reads and readable fetch failures.
 *
 * @module
 */

/** How much of an error response body is kept. */
export const ERROR_BODY_BYTES = 2048;

/**
 * Reads at most `maxBytes` of a response body as text and releases the rest.
 *
 * A longer body is cut at `maxBytes` (a split UTF-8 character becomes U+FFFD) and marked with
 * `... (truncated, N+ bytes)`.
 *
 * @example
 * ```ts
 * import { readTextCapped } from "./_http.ts";
 * console.log(await readTextCapped(new Response("x".repeat(10)), 4)); // xxxx... (truncated, 10+ bytes)
 * ```
 */
export async function readTextCapped(
  res: Response,
  maxBytes: number = ERROR_BODY_BYTES,
): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  try {
    return await readReaderCapped(
      reader,
      () => void reader.cancel().catch(() => {}),
      maxBytes,
    );
  } finally {
    reader.releaseLock();
  }
}

/** {@linkcode readTextCapped} over a chunk reader; `cancel` releases a body read only in part. */
export async function readReaderCapped(
  reader: ChunkReader,
  cancel: () => void,
  maxBytes: number = ERROR_BODY_BYTES,
): Promise<string> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total <= maxBytes) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value.slice()); // a reader may reuse its buffer
    total += value.length;
  }
  if (total > maxBytes) cancel();
  const bytes = new Uint8Array(Math.min(total, maxBytes));
  let at = 0;
  for (const p of parts) {
    if (at >= bytes.length) break;
    const n = Math.min(p.length, bytes.length - at);
    bytes.set(p.subarray(0, n), at);
    at += n;
  }
  const text = new TextDecoder().decode(bytes);
  return total > maxBytes ? `${text}... (truncated, ${total}+ bytes)` : text;
}

/**
 * Describes why a `fetch` failed, in a few words: `connection refused`, `host not found`,
 * `connection reset`, or the innermost cause's message.
 *
 * @example
 * ```ts
 * import { describeFetchError } from "./_http.ts";
 * const cause = new Error("tcp connect error: Connection refused (os error 111)");
 * console.log(describeFetchError(new TypeError("fetch failed", { cause }))); // connection refused
 * ```
 */
export function describeFetchError(e: unknown): string {
  let inner: unknown = e;
  while (inner instanceof Error && inner.cause !== undefined) {
    inner = inner.cause;
  }
  const text = inner instanceof Error ? inner.message : String(inner);
  if (/connection refused/i.test(text)) return "connection refused";
  if (
    /dns error|failed to lookup address|name or service not known/i.test(text)
  ) {
    return "host not found";
  }
  if (/connection reset/i.test(text)) return "connection reset";
  return text;
}

/**
 * Reads and discards what is left of a body (normally just its end, after `[DONE]`) so that the
 * connection goes back to the pool; gives up by aborting `ctl` after `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { drainBody } from "./_http.ts";
 * const reader = new Response("rest").body!.getReader();
 * await drainBody(reader, new AbortController(), 1000);
 * console.log("drained");
 * ```
 */
export async function drainBody(
  reader: ChunkReader,
  ctl: AbortController,
  ms: number,
): Promise<void> {
  const deadline = setTimeout(() => ctl.abort(), ms);
  try {
    while (!(await reader.read()).done) { /* discard */ }
  } catch {
    // aborted or broken after the response was complete: nothing is lost
  } finally {
    clearTimeout(deadline);
  }
}

/** What the stream readers here need of a reader: chunks in order. */
export interface ChunkReader {
  /** The next chunk of bytes, or `done` at the end of the stream. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /**
   * Nanoseconds since the bytes of the last `read()` reached this host (the kernel's receive
   * time of the newest of them), or -1 when unknown. Absent: the reader cannot tell, and the
   * time is taken when the read returns.
   */
  receivedAgoNs?(): number;
}

/** Bytes asked for per read of a streamed body (an SSE chunk is ~0.1-1 KB). */
const READ_BYTES = 16 * 1024;

/**
 * Reads a byte stream into one reused buffer (BYOB). Deno's default reader of a fetch body
 * allocates and zeroes a fresh 64 KiB buffer for every read: measured at 256 streams of 100
 * chunks/s, `memset` was ~40% of a reading thread's time. A chunk is valid until the next
 * `read()`: consumers decode or copy it before reading on. Streams without BYOB support fall
 * back to the default reader.
 *
 * @example
 * ```ts
 * import { reusingReader } from "./_http.ts";
 * const r = reusingReader(new Response("abc").body!);
 * const { value } = await r.read();
 * console.log(new TextDecoder().decode(value)); // abc
 * ```
 */
export function reusingReader(
  body: ReadableStream<Uint8Array>,
): ChunkReader & { cancel(): Promise<void> } {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return body.getReader();
  }
  let buf = new Uint8Array(READ_BYTES);
  return {
    cancel: () => byob.cancel(),
    async read() {
      const r = await byob.read(buf);
      if (r.value) buf = new Uint8Array(r.value.buffer, 0, READ_BYTES);
      return r.done
        ? { done: true, value: undefined }
        : { done: false, value: r.value! };
    },
  };
}
