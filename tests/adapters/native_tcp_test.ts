import assert from "node:assert/strict";
import {
  NativeTcpConn,
  NativeTcpListener,
  nativeTcpUnavailable,
  numericAddress,
} from "../../adapters/native_tcp.ts";
import { writeAll } from "../../adapters/_http1.ts";
import { H1Error, H1Pool } from "../../adapters/openai/_h1.ts";

const native = nativeTcpUnavailable() === undefined;
const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("numericAddress() reads IPv4, IPv6 and localhost, and nothing else", () => {
  const v4 = numericAddress("10.1.2.3", 8080)!;
  assert.deepEqual([...v4.subarray(0, 8)], [2, 0, 0x1f, 0x90, 10, 1, 2, 3]);
  assert.deepEqual([...numericAddress("localhost", 1)!.subarray(4, 8)], [
    127,
    0,
    0,
    1,
  ]);
  const v6 = numericAddress("::1", 443)!;
  assert.equal(v6.length, 28);
  assert.deepEqual([...v6.subarray(0, 4)], [10, 0, 1, 0xbb]);
  assert.deepEqual([...v6.subarray(8, 24)], [...Array(15).fill(0), 1]);
  const full = numericAddress("fe80:0:0:0:1:2:3:abcd", 1)!;
  assert.deepEqual([...full.subarray(8, 24)], [
    0xfe,
    0x80,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    2,
    0,
    3,
    0xab,
    0xcd,
  ]);
  assert.deepEqual(
    [...numericAddress("2001:db8::7", 1)!.subarray(8, 24)],
    [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7],
  );
  for (
    const bad of [
      "example.com",
      "256.1.1.1",
      "1.2.3",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7",
      "",
    ]
  ) {
    assert.equal(numericAddress(bad, 1), undefined, bad);
  }
});

/** A listener whose accepted connections are handed to `serve`. */
function listen(
  serve: (c: Deno.Conn) => Promise<void>,
  hostname = "127.0.0.1",
) {
  const l = Deno.listen({ hostname, port: 0 });
  const served: Promise<void>[] = [];
  const loop = (async () => {
    for await (const c of l) served.push(serve(c).finally(() => c.close()));
  })().catch(() => {});
  return {
    port: l.addr.port,
    async close() {
      l.close();
      await loop;
      await Promise.allSettled(served);
    },
  };
}

Deno.test({
  name:
    "NativeTcpConn: echo, end of stream, and a late read keeps its bytes' arrival time",
  ignore: !native,
  async fn() {
    let wrote!: () => void;
    const written = new Promise<void>((r) => (wrote = r));
    const server = listen(async (c) => {
      const buf = new Uint8Array(64);
      for (;;) { // echo until "done"
        const n = (await c.read(buf))!;
        await c.write(buf.subarray(0, n));
        if (dec.decode(buf.subarray(0, n)) === "done") break;
      }
      const more = (await c.read(buf))!;
      await c.write(enc.encode(`late:${dec.decode(buf.subarray(0, more))}`));
      wrote();
    });
    const c = await NativeTcpConn.connect("127.0.0.1", server.port);
    const buf = new Uint8Array(64);
    assert.equal(c.receivedAgoNs(), -1); // nothing read yet
    // The kernel turns receive stamps on in deferred work once a socket asks (the module asks
    // at load): within a few round trips, a read comes with its time.
    let stamped = -1;
    for (let k = 0; k < 1000 && stamped < 0; k++) {
      await writeAll(c, enc.encode("ping"));
      const n = await c.read(buf);
      assert.equal(dec.decode(buf.subarray(0, n!)), "ping");
      stamped = c.receivedAgoNs();
    }
    assert.ok(stamped >= 0, "no read came with the kernel's receive time");
    await writeAll(c, enc.encode("done"));
    assert.equal(dec.decode(buf.subarray(0, (await c.read(buf))!)), "done");
    await writeAll(c, enc.encode("x"));
    await written;
    // Read 30 ms after the bytes arrived: their time is the arrival, not the read.
    await new Promise((r) => setTimeout(r, 30));
    const m = await c.read(buf);
    assert.equal(dec.decode(buf.subarray(0, m!)), "late:x");
    const ago = c.receivedAgoNs();
    assert.ok(ago >= 30e6, `received ${ago} ns ago, expected >= 30 ms`);
    assert.ok(ago < 10e9);
    assert.equal(await c.read(buf), null); // the server closed
    c.close();
    c.close(); // idempotent
    await server.close();
  },
});

Deno.test({
  name:
    "NativeTcpConn: refused, a read pending at close, and a megabyte each way",
  ignore: !native,
  async fn() {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const freePort = probe.addr.port;
    probe.close();
    await assert.rejects(
      NativeTcpConn.connect("127.0.0.1", freePort),
      Deno.errors.ConnectionRefused,
    );
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(
      NativeTcpConn.connect("127.0.0.1", freePort, aborted.signal),
      Deno.errors.Interrupted,
    );

    const size = 1 << 20;
    let received = 0;
    const server = listen(async (c) => {
      const buf = new Uint8Array(65536);
      while (received < size) {
        const n = await c.read(buf);
        if (n === null) break;
        received += n;
      }
      await writeAll(c, new Uint8Array(size).fill(7));
      // Then wait for the client's close.
      while ((await c.read(buf)) !== null) { /* nothing more is sent */ }
    });
    const c = await NativeTcpConn.connect("localhost", server.port);
    // More than the socket buffers hold: the writes wait for the peer to read.
    await writeAll(c, new Uint8Array(size).fill(1));
    let got = 0;
    const buf = new Uint8Array(16384);
    while (got < size) {
      const n = await c.read(buf);
      assert.notEqual(n, null);
      assert.ok(buf.subarray(0, n!).every((b) => b === 7));
      got += n!;
    }
    assert.equal(received, size);
    const pending = c.read(buf);
    c.close();
    await assert.rejects(pending, Deno.errors.Interrupted);
    await assert.rejects(c.write(enc.encode("x")), Deno.errors.Interrupted);
    await server.close();
  },
});

Deno.test({
  name:
    "NativeTcpConn: 64 connections read at once; localhost falls back to ::1",
  ignore: !native,
  async fn() {
    const server = listen(async (c) => {
      for (let k = 0; k < 20; k++) {
        await c.write(enc.encode(`${k};`));
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    const texts = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const c = await NativeTcpConn.connect("127.0.0.1", server.port);
        const buf = new Uint8Array(1024);
        let text = "";
        for (;;) {
          const n = await c.read(buf);
          if (n === null) break;
          text += dec.decode(buf.subarray(0, n));
        }
        c.close();
        return text;
      }),
    );
    const want = Array.from({ length: 20 }, (_, k) => `${k};`).join("");
    for (const t of texts) assert.equal(t, want);
    await server.close();

    let v6: ReturnType<typeof listen> | undefined;
    try {
      v6 = listen(async (c) => void await c.write(enc.encode("six")), "::1");
    } catch {
      return; // no IPv6 loopback on this machine
    }
    const c = await NativeTcpConn.connect("localhost", v6.port);
    const buf = new Uint8Array(8);
    const n = await c.read(buf);
    assert.equal(dec.decode(buf.subarray(0, n!)), "six");
    c.close();
    await v6.close();
  },
});

Deno.test({
  name:
    "NativeTcpListener: port 0, two clients served at once, address in use, close ends accept",
  ignore: !native,
  async fn() {
    const l = NativeTcpListener.listen("127.0.0.1", 0);
    assert.ok(l.port > 0);
    assert.throws(
      () => NativeTcpListener.listen("127.0.0.1", l.port),
      Deno.errors.AddrInUse,
    );
    const served = (async () => {
      const conns = [await l.accept(), await l.accept()];
      const buf = new Uint8Array(16);
      for (const c of conns) {
        const n = (await c.read(buf))!;
        await writeAll(c, enc.encode(`re:${dec.decode(buf.subarray(0, n))}`));
        c.close();
      }
    })();
    // Deno's own client against the native listener.
    const a = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    const b = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    await a.write(enc.encode("a"));
    await b.write(enc.encode("b"));
    for (const [c, want] of [[a, "re:a"], [b, "re:b"]] as const) {
      const buf = new Uint8Array(16);
      let got = "";
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        got += dec.decode(buf.subarray(0, n));
      }
      assert.equal(got, want);
      c.close();
    }
    await served;
    const pending = l.accept();
    l.close();
    await assert.rejects(pending, Deno.errors.Interrupted);
  },
});

Deno.test("H1Pool: socket choice by host and platform", () => {
  const byName = new H1Pool(new URL("http://example.invalid:8000"));
  assert.equal(byName.receiveTimes, "read");
  assert.match(
    byName.nativeRefused!,
    native ? /is a name/ : /./,
  );
  assert.throws(
    () =>
      new H1Pool(
        new URL("http://example.invalid:8000"),
        undefined,
        undefined,
        "native",
      ),
    H1Error,
  );
  const deno = new H1Pool(
    new URL("http://127.0.0.1:1"),
    undefined,
    undefined,
    "deno",
  );
  assert.equal(deno.receiveTimes, "read");
  assert.equal(deno.nativeRefused, undefined);
  const auto = new H1Pool(new URL("http://127.0.0.1:1"));
  assert.equal(auto.receiveTimes, native ? "kernel" : "read");
});
