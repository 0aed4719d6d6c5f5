/**
 * The bytes of the HTTP/1.1 server (harness/http_server.ts): request heads parsed, responses
 * and refusals written.
 *
 * @module
 */
import { writeAll } from "../adapters/_http1.ts";

const enc = new TextEncoder();
const CRLF = new Uint8Array([13, 10]);

/** What the wire needs of a connection. */
export interface WireConn {
  tcp: Deno.TcpConn;
  closed: boolean;
}

/** The per-connection write timer (see `deadline` in http_server.ts). */
export interface WriteTimer {
  arm(ms: number): void;
  disarm(): void;
}

/** Answers a connection over the limit with a 503 saying why, then closes it. */
export function refuse(tcp: Deno.TcpConn, max: number): void {
  const body =
    `Too many connections: this server holds at most ${max} at once (--max-connections) and all are busy; retry later\n`;
  const bytes = enc.encode(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `retry-after: 1\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
  // One small write into an empty socket buffer: it does not block; never awaited for long.
  const t = setTimeout(() => tryClose(tcp), 1000);
  writeAll(tcp, bytes).catch(() => {}).finally(() => {
    clearTimeout(t);
    tryClose(tcp);
  });
}

function tryClose(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

/** A plain-text response that ends the connection (written best-effort). */
export async function fail(
  c: WireConn,
  status: string,
  text: string,
): Promise<void> {
  const body = enc.encode(text + "\n");
  await writeAll(
    c.tcp,
    enc.encode(
      `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    ),
  ).then(() => writeAll(c.tcp, body)).catch(() => {});
}

/** Parses a request head; a string is why it is bad. */
export function parseHead(head: string):
  | string
  | { method: string; target: string; version: string; headers: Headers } {
  const [requestLine, ...lines] = head.split("\r\n");
  const m = /^([A-Z]{1,16}) (\S{1,8192}) (HTTP\/1\.[01])$/.exec(requestLine);
  if (!m || !m[2].startsWith("/")) {
    return `Bad request line ${JSON.stringify(requestLine.slice(0, 80))}`;
  }
  const headers = new Headers();
  for (const l of lines) {
    const c = l.indexOf(":");
    if (c <= 0) return `Bad header line ${JSON.stringify(l.slice(0, 80))}`;
    try {
      headers.append(l.slice(0, c).trim(), l.slice(c + 1).trim());
    } catch {
      return `Bad header line ${JSON.stringify(l.slice(0, 80))}`;
    }
  }
  return { method: m[1], target: m[2], version: m[3], headers };
}

/** Writes a response; false when the connection cannot be used any more. */
export async function writeResponse(
  c: WireConn,
  res: Response,
  method: string,
  keepAlive: boolean,
  gone: AbortSignal,
  w: { writeTimeoutMs: number; timer: WriteTimer },
): Promise<boolean> {
  const write = async (bytes: Uint8Array) => {
    w.timer.arm(w.writeTimeoutMs);
    try {
      await writeAll(c.tcp, bytes);
    } finally {
      w.timer.disarm();
    }
  };
  let head = `HTTP/1.1 ${res.status} ${res.statusText || "OK"}\r\n`;
  res.headers.forEach((v, k) => {
    if (
      k !== "content-length" && k !== "transfer-encoding" && k !== "connection"
    ) head += `${k}: ${v}\r\n`;
  });
  head += keepAlive ? "connection: keep-alive\r\n" : "connection: close\r\n";
  if (!res.body || method === "HEAD") {
    await res.body?.cancel().catch(() => {});
    try {
      await write(enc.encode(head + "content-length: 0\r\n\r\n"));
      return true;
    } catch {
      return false;
    }
  }
  const body = res.body.getReader();
  const onGone = () => body.cancel(gone.reason).catch(() => {});
  gone.addEventListener("abort", onGone, { once: true });
  try {
    await write(enc.encode(head + "transfer-encoding: chunked\r\n\r\n"));
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      if (gone.aborted || c.closed) return false;
      if (value.length === 0) continue;
      const size = enc.encode(value.length.toString(16) + "\r\n");
      const frame = new Uint8Array(size.length + value.length + 2);
      frame.set(size);
      frame.set(value, size.length);
      frame.set(CRLF, size.length + value.length);
      await write(frame);
    }
    if (gone.aborted || c.closed) return false;
    await write(enc.encode("0\r\n\r\n"));
    return true;
  } catch {
    await body.cancel().catch(() => {});
    return false;
  } finally {
    gone.removeEventListener("abort", onGone);
  }
}
