/**
 * The HTTP/1.1 server of `tokentrace serve` and `tokentrace dashboard`: a fetch handler (a hono
 * app's `fetch`) behind limits a hostile client cannot get around.
 *
 * `Deno.serve` closes no idle or slow connection and takes connections until the process runs
 * out of descriptors (measured: ~20,000 idle TCP connections, no request byte, made `serve`
 * exit with "Too many open files" in ~10 s and `dashboard` crash). Here:
 * - a connection limit: at the limit, a new connection takes the place of the oldest one that
 *   is idle (waiting for a request); when none is idle it is refused at once with a 503 saying
 *   why, so idle connections can never lock real clients out;
 * - an idle (keep-alive) timeout: a connection with no request byte for `idleTimeoutMs` after
 *   it opened or after its last response is closed;
 * - a header timeout: a request head must be complete `headerTimeoutMs` after its first byte
 *   (slow-header clients get a 408); a body must arrive within `bodyTimeoutMs`;
 * - a write timeout: a client that stops reading a response is dropped after `writeTimeoutMs`;
 * - size limits on the head (431) and the body (413);
 * - a failed accept (out of descriptors) is waited out, never thrown.
 * Responses with a body use chunked encoding (streams go out chunk by chunk); a client that goes
 * away aborts the request's signal and cancels its response body.
 *
 * @module
 */
import { headEnd } from "../adapters/_http1.ts";
import { fail, parseHead, refuse, writeResponse } from "./_http_wire.ts";

/** Limits of {@linkcode serveHttp}; every field has a default. */
export interface HttpLimits {
  /** Connections open at once. Default 256. */
  maxConnections?: number;
  /** A connection's wait for the first byte of a request, in ms. Default 5,000. */
  idleTimeoutMs?: number;
  /** From a request's first byte to the end of its head, in ms. Default 10,000. */
  headerTimeoutMs?: number;
  /** From the end of a head to the end of its body, in ms. Default 30,000. */
  bodyTimeoutMs?: number;
  /** Longest one write of a response may wait for the client, in ms. Default 30,000. */
  writeTimeoutMs?: number;
  /** Largest request head, in bytes. Default 64 KiB. */
  maxHeadBytes?: number;
  /** Largest request body, in bytes. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** The defaults of {@linkcode HttpLimits}. */
export const DEFAULT_HTTP_LIMITS: Readonly<Required<HttpLimits>> = {
  maxConnections: 256,
  idleTimeoutMs: 5_000,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  writeTimeoutMs: 30_000,
  maxHeadBytes: 64 * 1024,
  maxBodyBytes: 16 * 2 ** 20,
};

/** Options of {@linkcode serveHttp}. */
export interface HttpServerOptions extends HttpLimits {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

/** What the server has done to protect itself. */
export interface HttpServerStats {
  /** Connections open now. */
  open: number;
  /** Connections refused with a 503 (the limit was reached and none was idle). */
  refused: number;
  /** Idle connections closed to make room for a new one. */
  evicted: number;
  /** Connections closed by a timeout (idle, header, body or write). */
  timedOut: number;
  /** Accepts that failed (for example out of file descriptors) and were waited out. */
  acceptErrors: number;
}

/** A listening server. */
export interface HttpServer {
  addr: Deno.NetAddr;
  stats(): HttpServerStats;
  /** Stops accepting, closes every connection and resolves once all handlers ended. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

type Handler = (req: Request) => Response | Promise<Response>;

const dec = new TextDecoder();

/** A connection and what it is doing (only `idle` ones may be evicted). */
interface Conn {
  tcp: Deno.TcpConn;
  state: "idle" | "busy";
  closed: boolean;
  close(): void;
}

/**
 * Serves `handler` on `hostname:port` with the limits of {@linkcode HttpLimits}.
 *
 * @example
 * ```ts
 * import { serveHttp } from "./http_server.ts";
 * const s = serveHttp({ hostname: "127.0.0.1", port: 0, maxConnections: 8 }, () => new Response("hi"));
 * const res = await fetch(`http://127.0.0.1:${s.addr.port}/`);
 * console.log(await res.text()); // hi
 * await s.shutdown();
 * ```
 */
export function serveHttp(
  opts: HttpServerOptions,
  handler: Handler,
): HttpServer {
  const limits = { ...DEFAULT_HTTP_LIMITS };
  for (const k of Object.keys(limits) as (keyof HttpLimits)[]) {
    const v = opts[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(
        `HTTP server limit ${k}: expected an integer >= 1, got ${v}`,
      );
    }
    limits[k] = v;
  }
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port });
  const conns = new Set<Conn>();
  const handlers = new Set<Promise<void>>();
  const stats = { refused: 0, evicted: 0, timedOut: 0, acceptErrors: 0 };
  let closing = false;
  const finished = (async () => {
    for (;;) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await listener.accept();
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) break;
        // Out of descriptors (or a connection reset before it was taken): wait, keep serving.
        stats.acceptErrors++;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (closing) {
        tcp.close();
        break;
      }
      if (conns.size >= limits.maxConnections) {
        const idle = oldestIdle(conns);
        if (idle === undefined) {
          stats.refused++;
          refuse(tcp, limits.maxConnections);
          continue;
        }
        stats.evicted++;
        idle.close();
        conns.delete(idle);
      }
      const c: Conn = {
        tcp,
        state: "idle",
        closed: false,
        close() {
          if (this.closed) return;
          this.closed = true;
          try {
            tcp.close();
          } catch { /* already closed */ }
        },
      };
      conns.add(c);
      const h = serveConn(c, handler, limits, opts.hostname, stats).finally(
        () => {
          c.close();
          conns.delete(c);
          handlers.delete(h);
        },
      );
      handlers.add(h);
    }
    await Promise.allSettled([...handlers]);
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    stats: () => ({ open: conns.size, ...stats }),
    async shutdown() {
      closing = true;
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) c.close();
      await finished;
    },
  };
}

/** The idle connection that has waited longest (Sets iterate in insertion order). */
function oldestIdle(conns: Set<Conn>): Conn | undefined {
  for (const c of conns) if (c.state === "idle") return c;
  return undefined;
}

/**
 * A timer that closes the connection when it fires (after `fire`, which may write a last
 * response); `arm(ms)` restarts it, `disarm()` stops it.
 */
function deadline(c: Conn, stats: { timedOut: number }) {
  let t: ReturnType<typeof setTimeout> | undefined;
  return {
    arm(ms: number, fire?: () => Promise<void>) {
      clearTimeout(t);
      t = setTimeout(() => {
        stats.timedOut++;
        Promise.resolve(fire?.()).finally(() => c.close());
      }, ms);
    },
    disarm() {
      clearTimeout(t);
      t = undefined;
    },
  };
}

async function serveConn(
  c: Conn,
  handler: Handler,
  limits: Required<HttpLimits>,
  host: string,
  stats: { timedOut: number },
): Promise<void> {
  c.tcp.setNoDelay(true);
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  const timer = deadline(c, stats);
  /**
   * Reads more bytes into `buf`; false at end of stream (or when a timer closed it). At most one
   * read is in flight: callers while one is pending share it.
   */
  let pending: Promise<boolean> | undefined;
  const readMore = async (): Promise<boolean> => {
    const n = await c.tcp.read(chunk).catch(() => null);
    if (n === null) return false;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    return true;
  };
  const more = (): Promise<boolean> =>
    pending ??= readMore().finally(() => (pending = undefined));
  try {
    for (;;) {
      // Idle: waiting for a request's first byte (bytes already here are one).
      c.state = "idle";
      if (buf.length === 0) {
        timer.arm(limits.idleTimeoutMs);
        if (!(await more())) return;
      }
      c.state = "busy";
      timer.arm(
        limits.headerTimeoutMs,
        () =>
          fail(
            c,
            "408 Request Timeout",
            `Request head not complete within ${limits.headerTimeoutMs} ms`,
          ),
      );
      let end: number;
      while ((end = headEnd(buf, 0, buf.length)) < 0) {
        if (buf.length > limits.maxHeadBytes) {
          timer.disarm();
          return await fail(
            c,
            "431 Request Header Fields Too Large",
            `Request head larger than ${limits.maxHeadBytes} bytes`,
          );
        }
        if (!(await more())) return;
      }
      if (end > limits.maxHeadBytes) {
        timer.disarm();
        return await fail(
          c,
          "431 Request Header Fields Too Large",
          `Request head larger than ${limits.maxHeadBytes} bytes`,
        );
      }
      const head = dec.decode(buf.subarray(0, end));
      buf = buf.slice(end + 4);
      const parsed = parseHead(head);
      if (typeof parsed === "string") {
        timer.disarm();
        return await fail(c, "400 Bad Request", parsed);
      }
      const { method, target, version, headers } = parsed;
      if (headers.get("transfer-encoding") !== null) {
        timer.disarm();
        return await fail(
          c,
          "411 Length Required",
          "Request bodies must have a content-length (chunked uploads are not accepted)",
        );
      }
      const lengthText = headers.get("content-length") ?? "0";
      const length = /^\d{1,15}$/.test(lengthText) ? Number(lengthText) : NaN;
      if (!Number.isSafeInteger(length)) {
        timer.disarm();
        return await fail(
          c,
          "400 Bad Request",
          `Bad content-length ${JSON.stringify(lengthText.slice(0, 40))}`,
        );
      }
      if (length > limits.maxBodyBytes) {
        timer.disarm();
        return await fail(
          c,
          "413 Content Too Large",
          `Request body of ${length} bytes, more than the ${limits.maxBodyBytes} accepted`,
        );
      }
      timer.arm(
        limits.bodyTimeoutMs,
        () =>
          fail(
            c,
            "408 Request Timeout",
            `Request body not complete within ${limits.bodyTimeoutMs} ms`,
          ),
      );
      while (buf.length < length) {
        if (!(await more())) return;
      }
      timer.disarm();
      const body = buf.slice(0, length);
      buf = buf.slice(length);
      const keepAlive = version === "HTTP/1.1" &&
        headers.get("connection")?.toLowerCase() !== "close";
      const gone = new AbortController();
      let req: Request;
      try {
        req = new Request(
          `http://${headers.get("host") ?? host}${target}`,
          {
            method,
            headers,
            body: method === "GET" || method === "HEAD" || length === 0
              ? undefined
              : body,
            signal: gone.signal,
          },
        );
      } catch (e) {
        return await fail(
          c,
          "400 Bad Request",
          `Bad request target: ${(e as Error).message}`,
        );
      }
      // While the handler runs and its response streams, EOF from the client means it left
      // (bytes instead are the next request's: they stay in `buf`).
      const watch = more().then((got) => {
        if (!got) gone.abort("client closed the connection");
        return got;
      });
      let res: Response;
      try {
        res = await handler(req);
      } catch (e) {
        res = new Response(`Internal error: ${(e as Error).message}\n`, {
          status: 500,
        });
      }
      const ok = await writeResponse(c, res, method, keepAlive, gone.signal, {
        writeTimeoutMs: limits.writeTimeoutMs,
        timer,
      });
      if (!ok || !keepAlive || gone.signal.aborted) return;
      // Keep-alive: the watcher's read is the wait for the next request's first byte.
      c.state = "idle";
      timer.arm(limits.idleTimeoutMs);
      if (!(await watch)) return;
    }
  } finally {
    timer.disarm();
  }
}
