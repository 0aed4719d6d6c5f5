/**
 * A minimal HTTP/1.1 server over raw TCP for the scripted server, so that a chunk's recorded
 * send time is taken right before its bytes go to the socket.
 *
 * Under `Deno.serve`, an enqueued chunk reaches the socket when the server's HTTP machinery
 * pulls it, which under load can be milliseconds later: that delay would be charged to the
 * client being measured. Here each response body is pumped by this module: a chunk enqueued by
 * the handler resolves the pending read at once and is written to the socket in the same turn,
 * and {@linkcode onSocketWrite} tells the handler when (a server short of CPU writes late: the
 * time logged at the write is still the time the bytes left).
 * Requests: `Content-Length` bodies, keep-alive, no pipelining needs, no TLS; responses with
 * a body use chunked encoding. A client that goes away cancels the response body.
 *
 * @module
 */

import { headEnd, writeAll } from "../_http1.ts";
import {
  type ByteConn,
  NativeTcpListener,
  nativeTcpUnavailable,
} from "../native_tcp.ts";

/** Called with `performance.now()` right before the chunk's bytes are written to the socket. */
export type WriteHook = (tMs: number) => void;
const writeHooks = new WeakMap<Uint8Array, WriteHook>();

/**
 * Asks to be told when `chunk`, enqueued on a response body served by {@linkcode serveRawHttp},
 * is written to the socket: `hook` gets `performance.now()` taken just before the write. A chunk
 * that is never written (the client went away first) never calls it. Under another server the
 * hook is never called.
 *
 * @example
 * ```ts
 * import { onSocketWrite } from "./raw_http.ts";
 * const chunk = new TextEncoder().encode("data: {}\n\n");
 * const sent: number[] = [];
 * onSocketWrite(chunk, (t) => sent.push(t));
 * ```
 */
export function onSocketWrite(chunk: Uint8Array, hook: WriteHook): void {
  writeHooks.set(chunk, hook);
}

/** A listening raw server. */
export interface RawHttpServer {
  addr: Deno.NetAddr;
  /** `native`: sockets through libc (adapters/native_tcp.ts); `deno`: `Deno.listen`. */
  sockets: "native" | "deno";
  /** Stops accepting, closes every connection and resolves once all handlers ended. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Largest request head or body accepted (the scripted server's requests are small). */
const MAX_REQUEST_BYTES = 64 * 2 ** 20;

/**
 * Serves `handler` on `hostname:port` (port 0: the OS picks), through native sockets where
 * they work (`sockets`, default `auto`; `deno`: `Deno.listen`).
 *
 * @example
 * ```ts
 * import { serveRawHttp } from "./raw_http.ts";
 * const s = serveRawHttp({ hostname: "127.0.0.1", port: 0 }, () => new Response("hi"));
 * const res = await fetch(`http://127.0.0.1:${s.addr.port}/`);
 * console.log(await res.text()); // hi
 * await s.shutdown();
 * ```
 */
export function serveRawHttp(
  opts: {
    hostname: string;
    port: number;
    sockets?: "auto" | "native" | "deno";
  },
  handler: (req: Request) => Response | Promise<Response>,
): RawHttpServer {
  const listener = openListener(opts);
  const conns = new Set<ByteConn>();
  const handlers = new Set<Promise<void>>();
  let closing = false;
  const finished = (async () => {
    try {
      for (;;) {
        let conn: ByteConn;
        try {
          conn = await listener.accept();
        } catch (e) {
          if (
            closing || e instanceof Deno.errors.BadResource ||
            e instanceof Deno.errors.Interrupted
          ) break;
          // A failed accept (a connection reset before it was taken, out of descriptors)
          // costs that connection only; keep serving.
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        if (closing) {
          conn.close();
          break;
        }
        conns.add(conn);
        const h = serveConn(conn, handler, opts.hostname).finally(() => {
          conns.delete(conn);
          handlers.delete(h);
        });
        handlers.add(h);
      }
    } catch (e) {
      if (!closing) throw e;
    }
    await Promise.allSettled([...handlers]);
  })();
  return {
    addr: { transport: "tcp", hostname: opts.hostname, port: listener.port },
    sockets: listener.sockets,
    finished,
    async shutdown() {
      closing = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await finished;
    },
  };
}

interface Listener {
  accept(): Promise<ByteConn>;
  close(): void;
  port: number;
  sockets: "native" | "deno";
}

/**
 * Native sockets where they work (`auto`, the default): each write is a `send()` in the turn
 * that asks for it, so the time a handler logs right before it (see `onSocketWrite`) is when
 * the bytes went to the kernel. Through `Deno.listen` a write is handed to the runtime, which
 * under load was seen to make it up to ~0.5 s after the turn that asked (docs/perf.md).
 */
function openListener(
  opts: {
    hostname: string;
    port: number;
    sockets?: "auto" | "native" | "deno";
  },
): Listener {
  const want = opts.sockets ?? "auto";
  const why = want === "deno"
    ? "asked for Deno sockets"
    : nativeTcpUnavailable();
  if (want === "native" && why !== undefined) {
    throw new Error(`Native sockets unavailable: ${why}`);
  }
  if (why === undefined) {
    const l = NativeTcpListener.listen(opts.hostname, opts.port);
    return {
      accept: () => l.accept(),
      close: () => l.close(),
      port: l.port,
      sockets: "native",
    };
  }
  const l = Deno.listen({
    hostname: opts.hostname,
    port: opts.port,
    transport: "tcp",
  });
  return {
    accept: async () => {
      const c = await l.accept();
      c.setNoDelay(true);
      return c;
    },
    close: () => l.close(),
    port: (l.addr as Deno.NetAddr).port,
    sockets: "deno",
  };
}

/** Bytes read from a connection, consumed as requests are parsed. */
class ConnReader {
  private buf = new Uint8Array(0);
  private eof = false;
  /** A read in progress (at most one; every caller waits for the same bytes). */
  private pending: Promise<boolean> | undefined;
  private readonly chunk = new Uint8Array(64 * 1024);

  constructor(private readonly conn: ByteConn) {}

  /** Reads more bytes into the buffer; false at end of stream. */
  more(): Promise<boolean> {
    this.pending ??= this.readMore().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async readMore(): Promise<boolean> {
    if (this.eof) return false;
    const n = await this.conn.read(this.chunk).catch(() => null);
    if (n === null) {
      this.eof = true;
      return false;
    }
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(this.chunk.subarray(0, n), this.buf.length);
    this.buf = next;
    if (this.buf.length > MAX_REQUEST_BYTES) {
      throw new Error("Request larger than 64 MiB");
    }
    return true;
  }

  /** Resolves when the peer closes (or sends more, which is kept for the next request). */
  closed(): Promise<boolean> {
    return this.more().then((more) => !more);
  }

  /** The request head (up to the blank line), or null at end of stream. */
  async head(): Promise<string | null> {
    for (;;) {
      const i = headEnd(this.buf, 0, this.buf.length);
      if (i >= 0) {
        const head = decoder.decode(this.buf.subarray(0, i));
        this.buf = this.buf.slice(i + 4);
        return head;
      }
      if (!(await this.more())) return null;
    }
  }

  async body(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) {
      if (!(await this.more())) throw new Error("Connection closed mid-body");
    }
    const b = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return b;
  }
}

async function serveConn(
  conn: ByteConn,
  handler: (req: Request) => Response | Promise<Response>,
  host: string,
): Promise<void> {
  const reader = new ConnReader(conn);
  try {
    for (;;) {
      const head = await reader.head();
      if (head === null) return;
      const [requestLine, ...lines] = head.split("\r\n");
      const [method, target, version] = requestLine.split(" ");
      const headers = new Headers();
      for (const l of lines) {
        const c = l.indexOf(":");
        if (c > 0) headers.append(l.slice(0, c).trim(), l.slice(c + 1).trim());
      }
      if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
        await writeAll(
          conn,
          encoder.encode(
            "HTTP/1.1 411 Length Required\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
          ),
        );
        return;
      }
      const length = Number(headers.get("content-length") ?? 0);
      const body = length > 0 ? await reader.body(length) : undefined;
      const keepAlive = version === "HTTP/1.1" &&
        headers.get("connection")?.toLowerCase() !== "close";
      const req = new Request(
        `http://${headers.get("host") ?? host}${target}`,
        {
          method,
          headers,
          body: method === "GET" || method === "HEAD"
            ? undefined
            : body as Uint8Array<ArrayBuffer> | undefined,
        },
      );
      let res: Response;
      try {
        res = await handler(req);
      } catch (e) {
        res = new Response(`internal error: ${(e as Error).message}`, {
          status: 500,
        });
      }
      if (!(await writeResponse(conn, reader, res, method, keepAlive))) return;
      if (!keepAlive) return;
    }
  } catch {
    // A broken connection ends this connection only.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Writes a response; false when the connection cannot be used any more. */
async function writeResponse(
  conn: ByteConn,
  reader: ConnReader,
  res: Response,
  method: string,
  keepAlive: boolean,
): Promise<boolean> {
  let head = `HTTP/1.1 ${res.status} ${res.statusText || "OK"}\r\n`;
  res.headers.forEach((v, k) => {
    if (
      k !== "content-length" && k !== "transfer-encoding" && k !== "connection"
    ) {
      head += `${k}: ${v}\r\n`;
    }
  });
  head += keepAlive ? "connection: keep-alive\r\n" : "connection: close\r\n";
  if (!res.body || method === "HEAD") {
    await res.body?.cancel();
    await writeAll(conn, encoder.encode(head + "content-length: 0\r\n\r\n"));
    return true;
  }
  await writeAll(
    conn,
    encoder.encode(head + "transfer-encoding: chunked\r\n\r\n"),
  );
  const body = res.body.getReader();
  // A client that goes away (EOF on the socket) cancels the body, as Deno.serve would.
  let gone = false;
  const watch = reader.closed().then((closed) => {
    if (closed) {
      gone = true;
      body.cancel().catch(() => {});
    }
  }, () => {
    // A read error (or an oversized next request) on the connection: treat it as gone.
    gone = true;
    body.cancel().catch(() => {});
  });
  try {
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      if (gone) return false;
      if (value.length === 0) continue;
      // One write per chunk: size line, data and CRLF together.
      const size = encoder.encode(value.length.toString(16) + "\r\n");
      const frame = new Uint8Array(size.length + value.length + 2);
      frame.set(size);
      frame.set(value, size.length);
      frame.set(CRLF, size.length + value.length);
      const hook = writeHooks.get(value);
      if (hook) {
        writeHooks.delete(value);
        hook(performance.now());
      }
      await writeAll(conn, frame);
    }
    if (gone) return false;
    await writeAll(conn, encoder.encode("0\r\n\r\n"));
    return true;
  } catch {
    await body.cancel().catch(() => {});
    return false;
  } finally {
    void watch;
  }
}
