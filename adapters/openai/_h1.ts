/**
 * A lean HTTP/1.1 client for the streaming path: keep-alive connections over `Deno.connect`,
 * one socket write per request, chunked or sized bodies decoded into one reused buffer.
 *
 * Why not `fetch`: measured through `OpenAIBackend` at 1,000 requests/s against the same
 * server (adapters/openai/bench/transport.ts), `fetch` cost the client 262-328 us of CPU per
 * 2-token request and this path 154-196 us (docs/perf.md); every microsecond the reading
 * thread spends is a microsecond a token can wait. It speaks plain
 * `http://` only; `https://`, proxies and anything unusual go through `fetch`
 * (see `OpenAIBackendOptions.transport`).
 *
 * Over ~400 lines in one file on purpose: the pool (`H1Pool`) and the reader (`ResponseReader`:
 * head, content-length and chunked framing over reused per-connection buffers) share those
 * buffers and the stale-connection rules, and the reader is the hot path this file exists to
 * keep free of extra layers.
 *
 * @module
 */
import type { SendHandoff } from "../backend.ts";
import { headEnd, writeAll } from "../_http1.ts";
import {
  type ByteConn,
  NativeTcpConn,
  nativeTcpUnavailable,
  numericAddress,
  sendError,
} from "../native_tcp.ts";
import type { ChunkReader } from "./_http.ts";

/** A response whose body is read through {@linkcode H1Response.body}. */
export interface H1Response {
  status: number;
  statusText: string;
  headers: Headers;
  /**
   * Payload bytes; a chunk is valid until the next `read()`. Over native sockets,
   * `receivedAgoNs()` tells how long ago the kernel received the newest bytes of the last read.
   */
  body: ChunkReader & {
    /** Abandons the body: the connection is closed, not reused. */
    cancel(): void;
  };
}

/**
 * A failure of the transport (connect, write, read or framing), with a short reason. `framing`:
 * the server's bytes are not valid HTTP/1.1 (a protocol error, not a network one).
 */
export class H1Error extends Error {
  readonly framing: boolean;
  constructor(
    message: string,
    options?: { cause?: unknown; framing?: boolean },
  ) {
    super(message, options);
    this.name = "H1Error";
    this.framing = options?.framing ?? false;
  }
}

/** An {@linkcode H1Error} for bytes that are not valid HTTP/1.1. */
function framingError(message: string): H1Error {
  return new H1Error(message, { framing: true });
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const READ_BYTES = 16 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Keep-alive connections to one `http://host:port` origin.
 *
 * @example
 * ```ts
 * import { H1Pool } from "./_h1.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * const pool = new H1Pool(new URL(`http://127.0.0.1:${server.addr.port}`));
 * const res = await pool.request("GET", "/", [], undefined, new AbortController().signal);
 * const { value } = await res.body.read();
 * console.log(res.status, new TextDecoder().decode(value)); // 200 ok
 * pool.close();
 * await server.shutdown();
 * ```
 */
export class H1Pool {
  /** Idle keep-alive connections, most recently used last, with when they went idle. */
  private readonly idle: { conn: ByteConn; since: number }[] = [];
  private readonly hostname: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private closed = false;
  /**
   * Where its connections' token times come from: `kernel`, the kernel's receive time of each
   * read (native sockets, adapters/native_tcp.ts), or `read`, the time the read returned
   * (`Deno.connect`).
   */
  readonly receiveTimes: "kernel" | "read";
  /** Why `receiveTimes` is `read` where native sockets were allowed (`auto`); else undefined. */
  readonly nativeRefused?: string;

  /**
   * `maxIdleMs`: idle connections older than this are closed rather than reused; servers close
   * idle keep-alive connections themselves (uvicorn, under vLLM and SGLang, after 5 s), and a
   * request sent on such a connection would have to be retried.
   */
  /**
   * `sockets`: `native` connects through libc with the kernel's receive times (an error where
   * that cannot be: not Linux, no `ffi` permission, a host name that is not numeric or
   * `localhost`), `deno` through `Deno.connect`, `auto` (default) native where it can be.
   */
  constructor(
    origin: URL,
    private readonly maxIdle = 1024,
    private readonly maxIdleMs = 4000,
    sockets: "auto" | "native" | "deno" = "auto",
  ) {
    if (origin.protocol !== "http:") {
      throw new H1Error(`H1Pool speaks http:// only, got ${origin.protocol}`);
    }
    this.hostname = origin.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(origin.port || 80);
    this.hostHeader = origin.host;
    let refused: string | undefined;
    if (sockets !== "deno") {
      refused = nativeTcpUnavailable() ??
        (numericAddress(this.hostname, this.port) === undefined
          ? `host ${this.hostname} is a name (native sockets take numeric addresses and localhost)`
          : undefined);
      if (refused !== undefined && sockets === "native") {
        throw new H1Error(`Native sockets unavailable: ${refused}`);
      }
    }
    this.receiveTimes = sockets !== "deno" && refused === undefined
      ? "kernel"
      : "read";
    if (sockets === "auto") this.nativeRefused = refused;
  }

  /**
   * Sends a request and resolves with the response head; the body streams after. Aborting
   * `signal` closes the connection (a pending read rejects). A reused connection that turns
   * out closed before any response byte is retried once on a new one.
   *
   * With `handoff` (harness/armed_sends.ts) the request is armed on its native socket, to be
   * sent by the metronome's thread at its send time, or written here at that time when it
   * cannot be; `sent` is then called once, with the wall time (ms) stamped right before the
   * request's `send()`.
   */
  async request(
    method: string,
    path: string,
    headers: [string, string][],
    body: Uint8Array | undefined,
    signal: AbortSignal,
    handoff?: SendHandoff,
    sent?: (wallMs: number) => void,
  ): Promise<H1Response> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
    head += `content-length: ${body?.length ?? 0}\r\n\r\n`;
    const headBytes = enc.encode(head);
    const bytes = new Uint8Array(headBytes.length + (body?.length ?? 0));
    bytes.set(headBytes);
    if (body) bytes.set(body, headBytes.length);
    for (let attempt = 0;; attempt++) {
      if (signal.aborted) throw new H1Error("Aborted");
      // A retry always goes on a new connection.
      const pooled = attempt === 0 ? this.takeIdle() : undefined;
      const reused = pooled !== undefined;
      const conn = pooled ?? await this.connect(signal);
      // Only the first attempt keeps the plan's send time; a retry goes at once.
      const h = attempt === 0 ? handoff : undefined;
      const armed = h !== undefined && conn instanceof NativeTcpConn &&
        !signal.aborted && h.arm(conn.fd, bytes);
      // An armed send is withdrawn before its socket closes; one in its send() is closed
      // when that returns. A closed socket stops the response's reads at once.
      const onAbort = armed
        ? () =>
          h.withdraw() === "sending"
            ? void h.fired().then(() => close(conn))
            : close(conn)
        : () => close(conn);
      signal.addEventListener("abort", onAbort, { once: true });
      // Aborted while connecting (a connect that completed at once never saw it), or by a
      // cancellation that `sent` queued just before a retry: the listener above came too late.
      if (signal.aborted) onAbort();
      try {
        let from = 0;
        const fired = armed ? await h.fired() : undefined;
        if (fired?.outcome === "withdrawn") throw new H1Error("Aborted");
        if (fired?.outcome === "sent") {
          sent?.(fired.wallMs);
          if (fired.written < 0) throw sendError(-fired.written);
          from = fired.written;
        } else if (h !== undefined) {
          h.due();
          sent?.(performance.timeOrigin + performance.now());
        }
        await writeAll(conn, bytes.subarray(from));
        const r = new ResponseReader(conn, (c) => this.release(c), () => {
          signal.removeEventListener("abort", onAbort);
        });
        return await r.readHead();
      } catch (e) {
        signal.removeEventListener("abort", onAbort);
        close(conn);
        const stale = reused && attempt === 0 && !signal.aborted &&
          (e instanceof StaleConnection || isReset(e));
        if (stale) continue;
        if (signal.aborted) throw new H1Error("Aborted", { cause: e });
        throw e instanceof H1Error ? e : new H1Error(describe(e), { cause: e });
      }
    }
  }

  /** Closes idle connections; connections in use close when their response ends. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) close(c.conn);
  }

  /** The most recently used idle connection that is not too old (older ones are closed). */
  private takeIdle(): ByteConn | undefined {
    const now = performance.now();
    // Oldest first: a connection idle too long is closed, not reused.
    while (this.idle.length > 0 && now - this.idle[0].since > this.maxIdleMs) {
      close(this.idle.shift()!.conn);
    }
    return this.idle.pop()?.conn;
  }

  private async connect(signal: AbortSignal): Promise<ByteConn> {
    if (this.receiveTimes === "kernel") {
      try {
        return await NativeTcpConn.connect(this.hostname, this.port, signal);
      } catch (e) {
        if (signal.aborted) throw new H1Error("Aborted", { cause: e });
        throw new H1Error(describe(e), { cause: e });
      }
    }
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({
        hostname: this.hostname,
        port: this.port,
        signal,
      } as Deno.ConnectOptions);
    } catch (e) {
      if (signal.aborted) throw new H1Error("Aborted", { cause: e });
      throw new H1Error(describe(e), { cause: e });
    }
    conn.setNoDelay(true);
    return conn;
  }

  private release(conn: ByteConn): void {
    if (this.closed || this.idle.length >= this.maxIdle) close(conn);
    else this.idle.push({ conn, since: performance.now() });
  }
}

/**
 * A connection closed before any byte of the response: on a reused keep-alive connection the
 * server had closed it while idle (the request is sent again, once, on a new connection).
 */
class StaleConnection extends H1Error {
  constructor() {
    super("connection closed before the response");
  }
}

function close(c: ByteConn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

function isReset(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted;
}

function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (isReset(e)) return "connection reset";
  if (/failed to lookup address|name or service not known|dns/i.test(text)) {
    return "host not found";
  }
  return text;
}

const enum Framing {
  Chunked,
  Length,
  Close,
}
const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/** Reads one response from a connection: its head, then its body by its framing. */
/**
 * Read and payload buffers of a connection, kept across its responses (one at a time): a
 * request then allocates no buffers (two fresh 16 KiB buffers per request were ~32 MB/s of
 * garbage at 1,000 req/s).
 */
interface ConnBuffers {
  buf: Uint8Array;
  out: Uint8Array;
}
const connBuffers = new WeakMap<ByteConn, ConnBuffers>();

class ResponseReader {
  private readonly bufs: ConnBuffers;
  private buf: Uint8Array;
  /** Unconsumed bytes are buf[start, end). */
  private start = 0;
  private end = 0;
  private out: Uint8Array;
  private framing = Framing.Close;
  private remaining = 0;
  private state = Chunk.Size;
  private sizeLine = "";
  private keepAlive = true;
  private finished = false;

  constructor(
    private readonly conn: ByteConn,
    private readonly release: (c: ByteConn) => void,
    private readonly done: () => void,
  ) {
    let b = connBuffers.get(conn);
    if (b === undefined) {
      b = {
        buf: new Uint8Array(READ_BYTES),
        out: new Uint8Array(READ_BYTES),
      };
      connBuffers.set(conn, b);
    }
    this.bufs = b;
    this.buf = b.buf;
    this.out = b.out;
  }

  private async fill(): Promise<boolean> {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        if (this.buf.length >= MAX_HEAD_BYTES) {
          throw framingError("response head larger than 64 KiB");
        }
        const grown = new Uint8Array(this.buf.length * 2);
        grown.set(this.buf);
        this.buf = this.bufs.buf = grown;
      }
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  async readHead(): Promise<H1Response> {
    let gotAny = false;
    for (;;) {
      const i = headEnd(this.buf, this.start, this.end);
      if (i >= 0) {
        const text = dec.decode(this.buf.subarray(this.start, i));
        this.start = i + 4;
        const res = this.parseHead(text);
        if (res.status >= 100 && res.status < 200) continue; // 1xx: the real head follows
        return res;
      }
      let more: boolean;
      try {
        more = await this.fill();
      } catch (e) {
        if (!gotAny && isReset(e)) throw new StaleConnection();
        throw e;
      }
      if (!more) {
        if (!gotAny) throw new StaleConnection();
        throw new H1Error("Connection closed inside the response head");
      }
      gotAny = true;
    }
  }

  private parseHead(text: string): H1Response {
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) {
      throw framingError(
        `not an HTTP/1.x response: ${JSON.stringify(lines[0].slice(0, 80))}`,
      );
    }
    const headers = new Headers();
    for (let k = 1; k < lines.length; k++) {
      const c = lines[k].indexOf(":");
      if (c > 0) {
        headers.append(
          lines[k].slice(0, c).trim(),
          lines[k].slice(c + 1).trim(),
        );
      }
    }
    const connection = headers.get("connection")?.toLowerCase() ?? "";
    this.keepAlive = m[1] === "1"
      ? !connection.includes("close")
      : connection.includes("keep-alive");
    const te = headers.get("transfer-encoding")?.toLowerCase() ?? "";
    const cl = headers.get("content-length");
    const status = Number(m[2]);
    if (te.includes("chunked")) this.framing = Framing.Chunked;
    else if (cl !== null) {
      this.framing = Framing.Length;
      this.remaining = Number(cl);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) {
        throw framingError(`bad content-length ${JSON.stringify(cl)}`);
      }
    } else if (status === 204 || status === 304) {
      this.framing = Framing.Length;
      this.remaining = 0;
    } else {
      this.framing = Framing.Close;
      this.keepAlive = false;
    }
    return {
      status,
      statusText: m[3],
      headers,
      body: {
        read: () => this.read(),
        cancel: () => this.cancel(),
        receivedAgoNs: () => this.conn.receivedAgoNs?.() ?? -1,
      },
    };
  }

  private cancel(): void {
    if (this.finished) return;
    this.finished = true;
    close(this.conn);
    this.done();
  }

  private end_(): ReadableStreamReadResult<Uint8Array> {
    if (!this.finished) {
      this.finished = true;
      this.done();
      if (this.keepAlive && this.start === this.end) this.release(this.conn);
      else close(this.conn);
    }
    return { done: true, value: undefined };
  }

  /** A framing error found after payload bytes that were still returned (thrown next read). */
  private broken: unknown;

  /** The payload bytes of the buffered input (and of further reads until there are some). */
  private async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.broken !== undefined) {
      this.cancel(); // a broken framing: this connection cannot be reused
      throw this.broken;
    }
    if (this.finished) return { done: true, value: undefined };
    for (;;) {
      let n: number;
      try {
        n = this.decode();
      } catch (e) {
        this.cancel(); // a broken framing: this connection cannot be reused
        throw e;
      }
      if (n > 0) return { done: false, value: this.out.subarray(0, n) };
      if (this.bodyDone()) return this.end_();
      let more: boolean;
      try {
        more = await this.fill();
      } catch (e) {
        this.cancel();
        throw e;
      }
      if (!more) {
        if (this.framing === Framing.Close) return this.end_();
        this.cancel();
        throw new H1Error(
          "Connection closed before the end of the response body",
        );
      }
    }
  }

  private bodyDone(): boolean {
    return this.framing === Framing.Length
      ? this.remaining === 0
      : this.framing === Framing.Chunked && this.state === Chunk.Done;
  }

  /**
   * Moves payload bytes from the input to `out`; returns how many. A framing error after some
   * bytes were moved returns them (every byte the server sent before its error is delivered) and
   * is thrown by the next read.
   */
  private decode(): number {
    this.moved = 0;
    try {
      return this.decodeInto();
    } catch (e) {
      if (this.moved === 0) throw e;
      this.broken = e;
      return this.moved;
    }
  }

  /** Payload bytes moved to `out` by the decode in progress. */
  private moved = 0;

  /** Makes room in `out` for `k` more bytes after its first `n`. */
  private need(n: number, k: number): void {
    if (this.out.length < n + k) {
      const grown = new Uint8Array(Math.max(n + k, this.out.length * 2));
      grown.set(this.out.subarray(0, n));
      this.out = this.bufs.out = grown;
    }
  }

  /**
   * The size of a chunk-size line `b[s, nl)` (LF at `nl`) of hex digits and an optional CR,
   * read from the bytes; -1 when the line has anything else (extensions, spaces: the general
   * path reads it).
   */
  private static plainSize(b: Uint8Array, s: number, nl: number): number {
    let e = nl;
    if (e > s && b[e - 1] === 13) e--;
    if (e === s || e - s > 13) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const c = b[i];
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  private decodeInto(): number {
    let n = 0;
    if (this.framing !== Framing.Chunked) {
      let k = this.end - this.start;
      if (this.framing === Framing.Length) k = Math.min(k, this.remaining);
      this.need(0, k);
      this.out.set(this.buf.subarray(this.start, this.start + k), 0);
      this.start += k;
      if (this.framing === Framing.Length) this.remaining -= k;
      return k;
    }
    const b = this.buf;
    while (this.start < this.end && this.state !== Chunk.Done) {
      switch (this.state) {
        case Chunk.Size:
        case Chunk.Trailer: {
          const nl = b.indexOf(10, this.start);
          if (nl < 0 || nl >= this.end) {
            this.sizeLine += dec.decode(b.subarray(this.start, this.end));
            this.start = this.end;
            if (this.sizeLine.length > 4096) {
              throw framingError("chunk size line longer than 4096 bytes");
            }
            break;
          }
          if (this.state === Chunk.Size && this.sizeLine === "") {
            // The common line, read without a string: hex digits, CRLF.
            const size = ResponseReader.plainSize(b, this.start, nl);
            if (size >= 0) {
              this.start = nl + 1;
              this.remaining = size;
              this.state = size === 0 ? Chunk.Trailer : Chunk.Data;
              break;
            }
          }
          const line = (this.sizeLine + dec.decode(b.subarray(this.start, nl)))
            .replace(/\r$/, "");
          this.sizeLine = "";
          this.start = nl + 1;
          if (this.state === Chunk.Trailer) {
            if (line === "") this.state = Chunk.Done;
            break;
          }
          const hex = line.split(";")[0].trim();
          const size = /^[0-9a-fA-F]{1,13}$/.test(hex)
            ? parseInt(hex, 16)
            : NaN;
          if (!Number.isFinite(size) || size < 0) {
            throw framingError(
              `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`,
            );
          }
          this.remaining = size;
          this.state = size === 0 ? Chunk.Trailer : Chunk.Data;
          break;
        }
        case Chunk.Data: {
          const k = Math.min(this.remaining, this.end - this.start);
          this.need(n, k);
          this.out.set(b.subarray(this.start, this.start + k), n);
          n += k;
          this.moved = n;
          this.start += k;
          this.remaining -= k;
          if (this.remaining === 0) this.state = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd: {
          // The CRLF after a chunk's data.
          if (b[this.start] === 13) this.start++;
          else if (b[this.start] === 10) {
            this.start++;
            this.state = Chunk.Size;
          } else throw framingError("chunk data not followed by CRLF");
          break;
        }
      }
    }
    return n;
  }
}
