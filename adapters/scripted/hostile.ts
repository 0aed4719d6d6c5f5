/**
 * A hostile OpenAI-compatible server over raw TCP: each mode breaks the protocol one way (lying
 * usage, a line that never ends, a broken chunk framing, a stream that stalls...), so tests and
 * the fault campaign (harness/bench/fault_campaign.ts) can check that the client records a
 * precise error and keeps every token that came before it. 127.0.0.1 only.
 *
 * Every completion streams `tokens` token chunks (`data: {"choices":[{"text":"t"}]}`) in
 * chunked encoding before it misbehaves; `/v1/models` answers normally.
 *
 * @module
 */
import { headEnd, writeAll } from "../_http1.ts";

/** How the server misbehaves on `POST /v1/completions`. */
export type HostileMode =
  /** A correct stream, usage matching it. */
  | "ok"
  /** Usage claims more tokens than streamed (50 for 10). */
  | "usage-high"
  /** Usage claims fewer (1 for 10). */
  | "usage-low"
  /** Usage is negative (-7). */
  | "usage-negative"
  /** After the tokens, a `data:` line of `hugeBytes` bytes that never ends. */
  | "huge-line"
  /** After the tokens, a chunk-size line that is not hexadecimal. */
  | "bad-chunk-size"
  /** Valid token chunks without end, until the client goes away. */
  | "endless"
  /** Accepts the request and never answers. */
  | "no-head"
  /** After the tokens, nothing more, connection kept open. */
  | "stall"
  /** After the tokens, the connection closes without ending the body. */
  | "close-mid-body"
  /** Not HTTP at all. */
  | "garbage-head"
  /** After the tokens, a `data:` payload that is not JSON. */
  | "malformed-json"
  /** After the tokens, an error object. */
  | "error-object"
  /** HTTP 500 with a text body. */
  | "http-500"
  /** The tokens, then the body ends without `[DONE]`. */
  | "no-done"
  /** `content-length` larger than the body sent, then close. */
  | "short-body"
  /** A response head larger than any client should take (128 KiB). */
  | "huge-head";

/** Every mode, for campaigns. */
export const HOSTILE_MODES: readonly HostileMode[] = [
  "ok",
  "usage-high",
  "usage-low",
  "usage-negative",
  "huge-line",
  "bad-chunk-size",
  "endless",
  "no-head",
  "stall",
  "close-mid-body",
  "garbage-head",
  "malformed-json",
  "error-object",
  "http-500",
  "no-done",
  "short-body",
  "huge-head",
];

/** Options of {@linkcode startHostileServer}. */
export interface HostileOptions {
  /** Token chunks streamed before misbehaving. Default 10. */
  tokens?: number;
  /** Size of the `huge-line` line in bytes. Default 100 MiB. */
  hugeBytes?: number;
}

/** A listening hostile server. */
export interface HostileServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Completions requests received. */
  readonly requests: number;
  /** Bytes of response body written to completions, all connections. */
  readonly bodyBytes: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** One chunked-encoding frame holding `data`. */
function frame(data: string | Uint8Array): Uint8Array {
  const body = typeof data === "string" ? enc.encode(data) : data;
  const size = enc.encode(`${body.length.toString(16)}\r\n`);
  const out = new Uint8Array(size.length + body.length + 2);
  out.set(size);
  out.set(body, size.length);
  out.set([13, 10], size.length + body.length);
  return out;
}

const TOKEN = 'data: {"choices":[{"index":0,"text":"t"}]}\n\n';
const SSE_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" +
  "transfer-encoding: chunked\r\nconnection: close\r\n\r\n";

/**
 * Starts a hostile server in `mode` on 127.0.0.1 (a free port).
 *
 * @example
 * ```ts
 * import { startHostileServer } from "./hostile.ts";
 * const s = startHostileServer("http-500");
 * const res = await fetch(`${s.url}/v1/completions`, { method: "POST", body: "{}" });
 * console.log(res.status, await res.text()); // 500 hostile: internal error
 * await s.close();
 * ```
 */
export function startHostileServer(
  mode: HostileMode,
  opts: HostileOptions = {},
): HostileServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const stats = { requests: 0, bodyBytes: 0 };
  let closing = false;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      serve(conn, mode, opts, stats).catch(() => {}).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return stats.requests;
    },
    get bodyBytes() {
      return stats.bodyBytes;
    },
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
    },
  };
}

/** Reads one request (head and content-length body); null when the peer closed. */
async function readRequest(conn: Deno.Conn): Promise<string | null> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  let end = -1;
  while ((end = headEnd(buf, 0, buf.length)) < 0) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
  const head = new TextDecoder().decode(buf.subarray(0, end));
  const m = /content-length:\s*(\d+)/i.exec(head);
  let have = buf.length - end - 4;
  const want = m ? Number(m[1]) : 0;
  while (have < want) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    have += n;
  }
  return head.split("\r\n")[0];
}

async function serve(
  conn: Deno.Conn,
  mode: HostileMode,
  opts: HostileOptions,
  stats: { requests: number; bodyBytes: number },
): Promise<void> {
  const line = await readRequest(conn);
  if (line === null) return;
  if (line.startsWith("GET /v1/models")) {
    const body = JSON.stringify({
      object: "list",
      data: [{ id: "hostile", object: "model" }],
    });
    await writeAll(
      conn,
      enc.encode(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      ),
    );
    return;
  }
  stats.requests++;
  const n = opts.tokens ?? 10;
  const write = async (bytes: Uint8Array) => {
    await writeAll(conn, bytes);
    stats.bodyBytes += bytes.length;
  };
  const tokens = async () => {
    for (let i = 0; i < n; i++) await write(frame(TOKEN));
  };
  const usage = async (completion: number) =>
    await write(frame(
      `data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${completion}}}\n\n`,
    ));
  const done = async () => {
    await write(frame("data: [DONE]\n\n"));
    await write(enc.encode("0\r\n\r\n"));
  };
  switch (mode) {
    case "no-head":
      await conn.read(new Uint8Array(1)); // until the client goes away
      return;
    case "garbage-head":
      await writeAll(conn, enc.encode("HELLO THERE\r\n\r\n"));
      return;
    case "huge-head":
      await writeAll(
        conn,
        enc.encode(
          `HTTP/1.1 200 OK\r\nx-padding: ${"p".repeat(128 * 1024)}\r\n\r\n`,
        ),
      );
      return;
    case "http-500": {
      const body = "hostile: internal error";
      await writeAll(
        conn,
        enc.encode(
          `HTTP/1.1 500 Internal Server Error\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        ),
      );
      return;
    }
    case "short-body":
      await writeAll(
        conn,
        enc.encode(
          "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 100000\r\n\r\n",
        ),
      );
      for (let i = 0; i < n; i++) await write(enc.encode(TOKEN));
      return;
  }
  await writeAll(conn, enc.encode(SSE_HEAD));
  await tokens();
  switch (mode) {
    case "ok":
      await usage(n);
      return await done();
    case "usage-high":
      await usage(50);
      return await done();
    case "usage-low":
      await usage(1);
      return await done();
    case "usage-negative":
      await usage(-7);
      return await done();
    case "no-done":
      return await write(enc.encode("0\r\n\r\n"));
    case "malformed-json":
      await write(frame("data: {oops\n\n"));
      return await done();
    case "error-object":
      await write(
        frame('data: {"error":{"message":"hostile failure","code":500}}\n\n'),
      );
      return await done();
    case "bad-chunk-size":
      return await write(enc.encode("zz\r\n"));
    case "close-mid-body":
      return;
    case "stall":
      await conn.read(new Uint8Array(1));
      return;
    case "huge-line": {
      const total = opts.hugeBytes ?? 100 * 2 ** 20;
      const piece = new Uint8Array(64 * 1024).fill(120); // "x"
      await write(frame("data: "));
      for (let sent = 0; sent < total; sent += piece.length) {
        await write(frame(piece)); // until the client closes (the write then throws)
      }
      return;
    }
    case "endless":
      for (;;) await write(frame(TOKEN));
  }
}
