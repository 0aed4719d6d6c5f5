import assert from "node:assert/strict";
import { serveHttp } from "../../harness/http_server.ts";

const enc = new TextEncoder();

/** Reads from `conn` until it closes; the bytes as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  return new TextDecoder().decode(
    chunks.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array()),
  );
}

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("serveHttp() still answers while more idle connections than its limit are open", async () => {
  const server = serveHttp(
    {
      hostname: "127.0.0.1",
      port: 0,
      maxConnections: 8,
      idleTimeoutMs: 600_000,
    },
    () => new Response("ok"),
  );
  const port = server.addr.port;
  try {
    // 24 connections that never send a byte: three times the limit.
    const idle: Deno.TcpConn[] = [];
    for (let i = 0; i < 24; i++) idle.push(await connect(port));
    // The server made room for each new one by closing the oldest idle: the first 16 are
    // closed by the server (their reads end), the last 8 stay open.
    const ended = await Promise.all(idle.slice(0, 16).map(readAll));
    assert.deepEqual(ended, Array(16).fill(""));
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
    const s = server.stats();
    assert.ok(s.open <= 8, `${s.open} connections open`);
    assert.ok(s.evicted >= 17, `${s.evicted} evicted`);
    for (const c of idle.slice(16)) c.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() refuses a connection over the limit with a 503 when none is idle", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let started = 0;
  let bothStarted!: () => void;
  const ready = new Promise<void>((r) => (bothStarted = r));
  const server = serveHttp(
    { hostname: "127.0.0.1", port: 0, maxConnections: 2 },
    async () => {
      if (++started === 2) bothStarted();
      await held;
      return new Response("done");
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  try {
    const busy = [fetch(url), fetch(url)];
    await ready;
    const extra = await connect(server.addr.port);
    const reply = await readAll(extra);
    assert.match(reply, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(
      reply,
      /\r\n\r\nToo many connections: this server holds at most 2 at once \(--max-connections\) and all are busy; retry later\n$/,
    );
    release();
    for (const r of await Promise.all(busy)) {
      assert.equal(await r.text(), "done");
    }
    assert.equal(server.stats().refused, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() closes idle and slow connections", async (t) => {
  const server = serveHttp(
    {
      hostname: "127.0.0.1",
      port: 0,
      idleTimeoutMs: 50,
      headerTimeoutMs: 50,
      bodyTimeoutMs: 50,
      maxHeadBytes: 1024,
      maxBodyBytes: 100,
    },
    () => new Response("ok"),
  );
  const port = server.addr.port;
  const send = async (bytes: string) => {
    const c = await connect(port);
    await c.write(enc.encode(bytes));
    return await readAll(c);
  };
  try {
    await t.step("no request byte: closed without a word", async () => {
      assert.equal(await readAll(await connect(port)), "");
    });
    await t.step("a head that never ends: 408", async () => {
      assert.match(
        await send("GET / HTTP/1.1\r\nhost: x\r\n"),
        /^HTTP\/1\.1 408 Request Timeout\r\n[^]*Request head not complete within 50 ms\n$/,
      );
    });
    await t.step("a body that never comes: 408", async () => {
      assert.match(
        await send(
          "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc",
        ),
        /^HTTP\/1\.1 408 Request Timeout\r\n[^]*Request body not complete within 50 ms\n$/,
      );
    });
    await t.step("a head too large: 431", async () => {
      assert.match(
        await send(`GET / HTTP/1.1\r\nx-pad: ${"p".repeat(2000)}\r\n\r\n`),
        /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/,
      );
    });
    await t.step("a body too large: 413", async () => {
      assert.match(
        await send("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 101\r\n\r\n"),
        /^HTTP\/1\.1 413 Content Too Large\r\n[^]*Request body of 101 bytes, more than the 100 accepted\n$/,
      );
    });
    await t.step("keep-alive: answered, then closed once idle", async () => {
      const reply = await send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      assert.match(
        reply,
        /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n2\r\nok\r\n0\r\n\r\n$/,
      );
    });
    await t.step("not HTTP: 400", async () => {
      assert.match(
        await send("HELLO\r\n\r\n"),
        /^HTTP\/1\.1 400 Bad Request\r\n/,
      );
    });
    assert.ok(server.stats().timedOut >= 4);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp() aborts a request whose client goes away and cancels its stream", async () => {
  let cancelled!: (why: unknown) => void;
  const gone = new Promise((r) => (cancelled = r));
  let aborted = false;
  const server = serveHttp({ hostname: "127.0.0.1", port: 0 }, (req) => {
    req.signal.addEventListener("abort", () => (aborted = true));
    return new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("data: 1\n\n"));
        },
        cancel: (why) => cancelled(why),
      }),
    );
  });
  try {
    const c = await connect(server.addr.port);
    await c.write(enc.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    await c.read(new Uint8Array(1024));
    c.close();
    await gone;
    assert.equal(aborted, true);
  } finally {
    await server.shutdown();
  }
});
