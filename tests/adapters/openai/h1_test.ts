import assert from "node:assert/strict";
import { H1Error, H1Pool } from "../../../adapters/openai/_h1.ts";

/** A TCP peer that answers each request on a connection with the next scripted reply. */
function peer(
  replies: (string | Uint8Array[])[],
  opts: { closeAfterEach?: boolean } = {},
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  let connections = 0;
  let closed = 0;
  let next = 0;
  const conns = new Set<Deno.Conn>();
  const done = (async () => {
    for await (const conn of listener) {
      connections++;
      conns.add(conn);
      (async () => {
        const buf = new Uint8Array(65536);
        let got = "";
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) return;
            got += new TextDecoder().decode(buf.subarray(0, n));
            const end = got.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const len = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? 0);
            if (got.length < end + 4 + len) continue;
            requests.push(got.slice(0, end + 4 + len));
            got = got.slice(end + 4 + len);
            const reply = replies[next++ % replies.length];
            const parts = typeof reply === "string"
              ? [new TextEncoder().encode(reply)]
              : reply;
            for (const p of parts) {
              await conn.write(p);
              await new Promise((r) => setTimeout(r, 1));
            }
            if (opts.closeAfterEach) {
              conn.close();
              closed++;
              return;
            }
          }
        } catch {
          /* closed */
        } finally {
          conns.delete(conn);
        }
      })();
    }
  })();
  const addr = listener.addr as Deno.NetAddr;
  return {
    url: new URL(`http://127.0.0.1:${addr.port}`),
    requests,
    get connections() {
      return connections;
    },
    /** Connections this peer closed after its reply (closeAfterEach). */
    get closed() {
      return closed;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await done.catch(() => {});
    },
  };
}

/** Polls `cond` on the event loop (a readiness wait, bounded so a bug cannot hang the suite). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 60_000;
  while (!cond()) {
    if (performance.now() > end) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function readAll(
  pool: H1Pool,
  path = "/x",
  signal = new AbortController().signal,
) {
  const res = await pool.request(
    "POST",
    path,
    [["x-a", "1"]],
    new TextEncoder().encode("{}"),
    signal,
  );
  let text = "";
  for (;;) {
    const { done, value } = await res.body.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return { res, text };
}

const bytes = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => Uint8Array.of(b));

Deno.test("H1Pool: chunked bodies decoded across any split, connection reused", async () => {
  const chunked =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n" +
    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";
  const p = peer([chunked, bytes(chunked)]);
  const pool = new H1Pool(p.url);
  try {
    for (let i = 0; i < 2; i++) {
      const { res, text } = await readAll(pool);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      assert.equal(text, "hello, world");
    }
    assert.equal(p.connections, 1, "keep-alive: one connection for both");
    assert.match(
      p.requests[0],
      /^POST \/x HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nx-a: 1\r\ncontent-length: 2\r\n\r\n\{\}$/,
    );
  } finally {
    pool.close();
    await p.close();
  }
});

Deno.test("H1Pool: content-length and close-delimited bodies; 1xx heads skipped", async () => {
  const p = peer([
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops",
  ]);
  const q = peer(["HTTP/1.0 200 OK\r\n\r\nuntil close"], {
    closeAfterEach: true,
  });
  const pool = new H1Pool(p.url), poolQ = new H1Pool(q.url);
  try {
    const a = await readAll(pool);
    assert.equal(a.res.status, 500);
    assert.equal(a.res.statusText, "Internal Server Error");
    assert.equal(a.text, "oops");
    const b = await readAll(poolQ);
    assert.equal(b.text, "until close");
  } finally {
    pool.close();
    poolQ.close();
    await p.close();
    await q.close();
  }
});

Deno.test("H1Pool: a kept-alive connection the server closed is retried on a new one", async () => {
  const p = peer(["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], {
    closeAfterEach: true,
  });
  const pool = new H1Pool(p.url);
  try {
    assert.equal((await readAll(pool)).text, "ok");
    await until(
      () => p.closed === 1,
      "the server to close the pooled connection",
    );
    assert.equal((await readAll(pool)).text, "ok");
    assert.equal(p.connections, 2);
  } finally {
    pool.close();
    await p.close();
  }
});

Deno.test("H1Pool: abort closes the connection; refused and broken replies say what happened", async () => {
  const slow =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n";
  const p = peer([slow]);
  const pool = new H1Pool(p.url);
  try {
    const ac = new AbortController();
    const res = await pool.request("POST", "/", [], undefined, ac.signal);
    assert.equal(
      new TextDecoder().decode((await res.body.read()).value),
      "abc",
    );
    ac.abort();
    await assert.rejects(() => res.body.read());
  } finally {
    pool.close();
    await p.close();
  }
  // Nothing listens on the port any more.
  const gone = new H1Pool(p.url);
  await assert.rejects(
    () => gone.request("GET", "/", [], undefined, new AbortController().signal),
    (e: Error) => e instanceof H1Error && /connection refused/.test(e.message),
  );
  const bad = peer(["SSH-2.0-OpenSSH\r\n\r\n"]);
  const badPool = new H1Pool(bad.url);
  try {
    await assert.rejects(
      () =>
        badPool.request(
          "GET",
          "/",
          [],
          undefined,
          new AbortController().signal,
        ),
      /not an HTTP\/1\.x response/,
    );
  } finally {
    badPool.close();
    await bad.close();
  }
  assert.throws(
    () => new H1Pool(new URL("https://example.com")),
    /http:\/\/ only/,
  );
});

Deno.test("H1Pool: every pooled connection closed by the server: each request still succeeds", async () => {
  const p = peer(["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], {
    closeAfterEach: true,
  });
  const pool = new H1Pool(p.url);
  try {
    // Three at once: three connections in the pool afterwards, all closed by the server.
    const first = await Promise.all([
      readAll(pool),
      readAll(pool),
      readAll(pool),
    ]);
    assert.deepEqual(first.map((r) => r.text), ["ok", "ok", "ok"]);
    await until(() => p.closed === 3, "the server to close all three");
    for (let i = 0; i < 3; i++) assert.equal((await readAll(pool)).text, "ok");
  } finally {
    pool.close();
    await p.close();
  }
});

Deno.test("H1Pool: a connection idle longer than maxIdleMs is closed, not reused", async () => {
  const p = peer(["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]);
  const pool = new H1Pool(p.url, 16, 10);
  try {
    await readAll(pool);
    await readAll(pool); // at once: reused
    assert.equal(p.connections, 1);
    await new Promise((r) => setTimeout(r, 40));
    await readAll(pool); // idle 40 ms > 10 ms: a new connection
    assert.equal(p.connections, 2);
  } finally {
    pool.close();
    await p.close();
  }
});
