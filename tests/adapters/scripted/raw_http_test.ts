import assert from "node:assert/strict";
import {
  onSocketWrite,
  serveRawHttp,
} from "../../../adapters/scripted/raw_http.ts";
import { SEND_SLACK_MS } from "../../../adapters/scripted/server.ts";
import { nativeTcpUnavailable } from "../../../adapters/native_tcp.ts";
import { createScriptedApp } from "../../../adapters/scripted/mod.ts";
import { reusingReader } from "../../../adapters/openai/_http.ts";

for (
  const sockets of nativeTcpUnavailable() === undefined
    ? ["native", "deno"] as const
    : ["deno"] as const
) {
  Deno.test(`serveRawHttp (${sockets} sockets): keep-alive requests on one connection, chunked bodies, POST bodies`, async () => {
    const s = serveRawHttp(
      { hostname: "127.0.0.1", port: 0, sockets },
      async (req) => {
        assert.equal(s.sockets, sockets);
        const body = req.method === "POST" ? await req.text() : "";
        const parts = [
          `${req.method} ${new URL(req.url).pathname}`,
          body,
          "end",
        ];
        return new Response(
          new ReadableStream({
            start(c) {
              for (const p of parts) {
                c.enqueue(new TextEncoder().encode(p + "|"));
              }
              c.close();
            },
          }),
          { status: 201, headers: { "x-test": "1" } },
        );
      },
    );
    try {
      // Raw bytes, to see the framing and that the second request reuses the connection.
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: s.addr.port,
      });
      const enc = new TextEncoder();
      const buf = new Uint8Array(4096);
      const readUntil = async (text: string) => {
        let got = "";
        while (!got.includes(text)) {
          const n = await conn.read(buf);
          if (n === null) break;
          got += new TextDecoder().decode(buf.subarray(0, n));
        }
        return got;
      };
      await conn.write(
        enc.encode(
          "POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello",
        ),
      );
      const first = await readUntil("0\r\n\r\n");
      assert.match(first, /^HTTP\/1\.1 201 /);
      assert.match(first, /x-test: 1/);
      assert.match(first, /transfer-encoding: chunked/);
      assert.match(
        first,
        /\r\n8\r\nPOST \/a\|\r\n6\r\nhello\|\r\n4\r\nend\|\r\n0\r\n\r\n$/,
      );
      await conn.write(enc.encode("GET /b HTTP/1.1\r\nhost: x\r\n\r\n"));
      const second = await readUntil("0\r\n\r\n");
      assert.match(second, /GET \/b\|/);
      conn.close();
      // And through fetch.
      const res = await fetch(`http://127.0.0.1:${s.addr.port}/c`, {
        method: "POST",
        body: "xy",
      });
      assert.equal(await res.text(), "POST /c|xy|end|");
    } finally {
      await s.shutdown();
    }
  });
}

Deno.test("serveRawHttp: a client that goes away cancels the response body", async () => {
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((r) => (cancelled = r));
  const s = serveRawHttp({ hostname: "127.0.0.1", port: 0 }, () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("first"));
        },
        cancel() {
          cancelled();
        },
      }),
    ));
  try {
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${s.addr.port}/`, {
      signal: ac.signal,
    });
    const r = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await r.read()).value), "first");
    ac.abort();
    await r.read().catch(() => {});
    await wasCancelled;
  } finally {
    await s.shutdown();
  }
});

for (const sendTimes of ["enqueue", "write"] as const) {
  Deno.test(`the scripted app over serveRawHttp logs send times (${sendTimes}) before the client sees them`, async () => {
    const sc = createScriptedApp({
      timing: { ttftBaseMs: 2, ttftPerInputTokenMs: 0, itlMs: 2 },
      sendTimes,
    });
    const s = serveRawHttp({ hostname: "127.0.0.1", port: 0 }, sc.app.fetch);
    try {
      const res = await fetch(
        `http://127.0.0.1:${s.addr.port}/v1/completions`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "q" },
          body: JSON.stringify({
            model: "m",
            prompt: [1, 2],
            max_tokens: 4,
            stream: true,
          }),
        },
      );
      const reader = reusingReader(res.body!);
      const seen: number[] = [];
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const now = performance.now();
        const chunk = new TextDecoder().decode(value);
        for (let k = 0; k < (chunk.match(/"text":"t\d/g) ?? []).length; k++) {
          seen.push(now);
        }
        text += chunk;
      }
      assert.match(text, /data: \[DONE\]/);
      const sends = sc.sendLog.get("q")!;
      const arrived = sc.arrivals.get("q")!;
      assert.equal(sends.length, 4);
      assert.equal(seen.length, 4);
      sends.forEach((t, k) => {
        assert.ok(seen[k] >= t, `token ${k} seen before it was sent`);
        assert.ok(
          t >= arrived + 2 + 2 * k - SEND_SLACK_MS,
          `token ${k} sent ${arrived + 2 + 2 * k - t} ms before its time`,
        );
      });
    } finally {
      await s.shutdown();
    }
  });
}

Deno.test("onSocketWrite: hooks called in write order, each after its chunk was enqueued", async () => {
  const enqueued: number[] = [];
  const written: number[] = [];
  const s = serveRawHttp({ hostname: "127.0.0.1", port: 0 }, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async start(c) {
          for (let k = 0; k < 5; k++) {
            const chunk = new TextEncoder().encode(`c${k}|`);
            onSocketWrite(chunk, (t) => written.push(k, t));
            enqueued.push(performance.now());
            c.enqueue(chunk);
            await new Promise((r) => setTimeout(r, 1));
          }
          // Not reported: this one has no hook.
          c.enqueue(new TextEncoder().encode("end|"));
          c.close();
        },
      }),
    ));
  try {
    const res = await fetch(`http://127.0.0.1:${s.addr.port}/`);
    assert.equal(await res.text(), "c0|c1|c2|c3|c4|end|");
    assert.deepEqual(written.filter((_, i) => i % 2 === 0), [0, 1, 2, 3, 4]);
    for (let k = 0; k < 5; k++) {
      assert.ok(written[2 * k + 1] >= enqueued[k], `chunk ${k} written first`);
    }
  } finally {
    await s.shutdown();
  }
});

Deno.test("the scripted app: 24 overlapping streams on one send clock, none early, all logged", async () => {
  const sc = createScriptedApp({
    timing: { ttftBaseMs: 3, ttftPerInputTokenMs: 0, itlMs: 3 },
    sendTimes: "write",
  });
  const s = serveRawHttp({ hostname: "127.0.0.1", port: 0 }, sc.app.fetch);
  try {
    const texts = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i % 5));
        const res = await fetch(
          `http://127.0.0.1:${s.addr.port}/v1/completions`,
          {
            method: "POST",
            headers: { "x-request-id": `r${i}` },
            body: JSON.stringify({ prompt: [1], max_tokens: 6, stream: true }),
          },
        );
        return await res.text();
      }),
    );
    for (let i = 0; i < 24; i++) {
      assert.equal(texts[i].match(/"text":"t\d/g)?.length, 6, `r${i}`);
      const sends = sc.sendLog.get(`r${i}`)!;
      const arrived = sc.arrivals.get(`r${i}`)!;
      assert.equal(sends.length, 6, `r${i}`);
      sends.forEach((t, k) => {
        assert.ok(
          t >= arrived + 3 + 3 * k - SEND_SLACK_MS,
          `r${i} token ${k} early`,
        );
        if (k > 0) {
          assert.ok(t >= sends[k - 1], `r${i} token ${k} out of order`);
        }
      });
    }
  } finally {
    await s.shutdown();
  }
});

Deno.test("reusingReader: chunks in order through one reused buffer", async () => {
  const parts = ["alpha", "beta", "gamma".repeat(5000)];
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    start(c) {
      for (const p of parts) c.enqueue(new TextEncoder().encode(p));
      c.close();
    },
  });
  const r = reusingReader(body);
  let out = "";
  for (;;) {
    const { done, value } = await r.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  assert.equal(out, parts.join(""));
  // A stream without BYOB support still reads (default reader).
  const plain = reusingReader(
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("x"));
        c.close();
      },
    }),
  );
  assert.equal(new TextDecoder().decode((await plain.read()).value), "x");
});
