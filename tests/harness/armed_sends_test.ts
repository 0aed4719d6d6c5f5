import assert from "node:assert/strict";
import type { SendHandoff } from "../../adapters/backend.ts";
import {
  NativeTcpConn,
  nativeTcpUnavailable,
} from "../../adapters/native_tcp.ts";
import { H1Error, H1Pool } from "../../adapters/openai/_h1.ts";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import {
  ARM_LEAD_MS,
  ArmedSends,
  armedTable,
  SendFirer,
  SlotState,
} from "../../harness/armed_sends.ts";
import { RunClock } from "../../harness/clock.ts";
import { Metronome, wallNowMs } from "../../harness/metronome.ts";
import type { RequestRow } from "../../harness/recorder.ts";
import { replay } from "../../harness/runner.ts";
import { reqs } from "./_scripted.ts";

const native = nativeTcpUnavailable() === undefined;
const EBADF = 9;

/** The state of slot `k` of `table` (the low 3 bits of its word). */
function stateOf(table: SharedArrayBuffer, k: number): number {
  return Atomics.load(new Int32Array(table), k) & 7;
}

/** A GET of `/` through `pool` with a hand-off; `sent` is called with the send's wall time. */
function get(
  pool: H1Pool,
  signal: AbortSignal,
  handoff: SendHandoff,
  sent: (wallMs: number) => void,
) {
  return pool.request("GET", "/", [], undefined, signal, handoff, sent);
}

/** Resolves once slot `k` of `table` is armed (the pool has built and handed the request). */
async function untilArmed(table: SharedArrayBuffer, k = 0): Promise<void> {
  while (stateOf(table, k) !== SlotState.ARMED) {
    await new Promise((r) => setTimeout(r, 0));
  }
}

// Descriptor -1 makes every send() fail with EBADF: the protocol is tested without a socket.

Deno.test("Armed sends: armed before its time, sent by the metronome once, the time stamped at the send", async () => {
  const table = armedTable(4);
  const armed = new ArmedSends(table, Float64Array.of(0, 0));
  const firer = new SendFirer(table);
  const h = armed.handoff(0);
  assert.equal(h.arm(-1, new Uint8Array(5)), true);
  assert.equal(h.arm(-1, new Uint8Array(5)), false, "armed twice");
  assert.equal(stateOf(table, 0), SlotState.ARMED);
  const before = wallNowMs();
  assert.equal(firer.fire(0), true);
  const after = wallNowMs();
  const f = await h.fired();
  assert.equal(f.outcome, "sent");
  if (f.outcome !== "sent") return;
  assert.equal(f.written, -EBADF);
  assert.ok(f.wallMs >= before && f.wallMs <= after, `${f.wallMs}`);
  assert.equal(stateOf(table, 0), SlotState.TAKEN);
  // Once sent, it cannot be taken back: its socket is closed only after fired(), which gives
  // a second caller the same outcome (a cancellation after the send).
  assert.equal(h.withdraw(), "sent");
  assert.deepEqual(await h.fired(), f);
  assert.equal(firer.fire(0), false, "sent twice");
});

Deno.test("Armed sends: a request not armed by its send time is its own thread's to write", async () => {
  const table = armedTable(4);
  const armed = new ArmedSends(table, Float64Array.of(0, 0, 0));
  const firer = new SendFirer(table);
  assert.equal(firer.fire(0), false);
  const late = armed.handoff(0);
  assert.equal(late.arm(-1, new Uint8Array(1)), false);
  assert.deepEqual(await late.fired(), { outcome: "passed" });
  // The metronome passed 0 only: 1 is still ahead and can be armed.
  assert.equal(firer.fire(1), false);
  const h2 = armed.handoff(2);
  assert.equal(h2.arm(-1, new Uint8Array(1)), true);
  assert.equal(firer.fire(2), true);
  assert.equal((await h2.fired()).outcome, "sent");
  // due() returns at once for a time that has passed.
  late.due();
});

Deno.test("Armed sends: withdrawn before its time, never sent; the metronome's stop passes the rest back", async () => {
  const table = armedTable(4);
  const armed = new ArmedSends(table, Float64Array.of(0, 0, 0));
  const firer = new SendFirer(table);
  const h0 = armed.handoff(0), h1 = armed.handoff(1), h2 = armed.handoff(2);
  assert.equal(h0.arm(-1, new Uint8Array(1)), true);
  assert.equal(h1.arm(-1, new Uint8Array(1)), true);
  assert.equal(h0.withdraw(), "withdrawn");
  assert.equal(h0.withdraw(), "withdrawn", "withdrawn twice");
  assert.equal(firer.fire(0), false);
  assert.deepEqual(await h0.fired(), { outcome: "withdrawn" });
  firer.stop();
  assert.deepEqual(await h1.fired(), { outcome: "passed" });
  assert.equal(
    h1.withdraw(),
    "withdrawn",
    "a passed send is not going to be made",
  );
  assert.equal(firer.fire(1), false);
  assert.equal(h2.arm(-1, new Uint8Array(1)), false, "armed after the stop");
});

Deno.test("Armed sends: a slot is reused only after its request took its outcome", async () => {
  const table = armedTable(2);
  const armed = new ArmedSends(table, new Float64Array(5));
  const firer = new SendFirer(table);
  const h0 = armed.handoff(0);
  assert.equal(h0.arm(-1, new Uint8Array(1)), true);
  assert.equal(firer.fire(0), true);
  assert.equal(firer.fire(1), false);
  // Request 2 shares slot 0 with request 0, whose outcome is still in the slot.
  assert.equal(armed.handoff(2).arm(-1, new Uint8Array(1)), false);
  assert.equal((await h0.fired()).outcome, "sent");
  const h4 = armed.handoff(4);
  assert.equal(firer.fire(2), false);
  assert.equal(firer.fire(3), false);
  assert.equal(h4.arm(-1, new Uint8Array(1)), true);
  assert.equal(firer.fire(4), true);
  assert.equal((await h4.fired()).outcome, "sent");
  assert.throws(() => armed.handoff(5), /request 5 of a lane of 5/);
  assert.throws(() => armedTable(0), /1-1048576 slots, got 0/);
});

Deno.test("Armed sends: arming races the metronome on another thread; each request is sent once or left to its thread", async () => {
  // The metronome's side fires 0..n-1 as fast as it can on a worker while this thread arms
  // them: whatever the interleaving, an armed request is sent exactly once or comes back.
  const n = 20_000;
  const table = armedTable(64);
  const armed = new ArmedSends(table, new Float64Array(n));
  const src = `
    import { SendFirer } from ${
    JSON.stringify(import.meta.resolve("../../harness/armed_sends.ts"))
  };
    self.onmessage = (e) => {
      const f = new SendFirer(e.data);
      let sent = 0;
      for (let i = 0; i < ${n}; i++) if (f.fire(i)) sent++;
      f.stop();
      self.postMessage(sent);
    };`;
  const worker = new Worker(
    URL.createObjectURL(new Blob([src], { type: "text/javascript" })),
    { type: "module" },
  );
  const firedCount = new Promise<number>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage(table);
  let armedCount = 0;
  const outcomes: Promise<string>[] = [];
  const bytes = new Uint8Array(1);
  for (let i = 0; i < n; i++) {
    const h = armed.handoff(i);
    if (h.arm(-1, bytes)) {
      armedCount++;
      outcomes.push(h.fired().then((f) => f.outcome));
    }
    // Let earlier outcomes be taken so that slots free up.
    if (i % 32 === 31) await Promise.all(outcomes.slice(-32));
  }
  const sentByWorker = await firedCount;
  worker.terminate();
  const got = await Promise.all(outcomes);
  const sent = got.filter((o) => o === "sent").length;
  assert.equal(sent, sentByWorker, "sends made = sends seen as made");
  assert.equal(got.filter((o) => o !== "sent" && o !== "passed").length, 0);
  assert.equal(got.length, armedCount);
});

/** A TCP server on 127.0.0.1 that keeps what each connection sent. */
function sink() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const handlers: Promise<void>[] = [];
  const done = (async () => {
    for await (const c of listener) {
      handlers.push((async () => {
        const buf = new Uint8Array(4096);
        let got = "";
        for (;;) {
          const k = await c.read(buf).catch(() => null);
          if (k === null) break;
          got += new TextDecoder().decode(buf.subarray(0, k));
        }
        received.push(got);
        c.close();
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    async close() {
      listener.close();
      await done;
      await Promise.all(handlers);
    },
  };
}

Deno.test({
  name:
    "Armed sends: the metronome's thread writes an armed request to its socket, never before its time",
  ignore: !native,
  async fn() {
    const s = sink();
    const conn = await NativeTcpConn.connect("127.0.0.1", s.port);
    const table = armedTable(4);
    const m = await Metronome.boot(1);
    // A send time far enough ahead for the arm to be on time on a busy machine; if the beat is
    // later than that, the request is written here and the checks still hold.
    const due = wallNowMs() + 200;
    const armed = new ArmedSends(table, Float64Array.of(due));
    const bytes = new TextEncoder().encode("hello");
    const h = armed.handoff(0);
    const beat = new Promise<void>((resolve) => {
      m.ports[0].onmessage = () => resolve();
    });
    m.play(Float64Array.of(due), Uint8Array.of(0), ARM_LEAD_MS, [table]);
    await beat;
    m.ports[0].close();
    const wasArmed = h.arm(conn.fd, bytes);
    const f = await h.fired();
    if (wasArmed && f.outcome === "sent") {
      assert.equal(f.written, bytes.length);
      assert.ok(f.wallMs >= due, `sent ${due - f.wallMs} ms early`);
    } else {
      h.due();
      assert.ok(wallNowMs() >= due);
      await conn.write(bytes);
    }
    await m.stop();
    conn.close();
    await s.close();
    assert.deepEqual(s.received, ["hello"]);
  },
});

/** An HTTP server on 127.0.0.1 that counts requests and answers each with `ok`. */
function httpServer() {
  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      requests++;
      return new Response("ok");
    },
  );
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}`),
    get requests() {
      return requests;
    },
    close: () => server.shutdown(),
  };
}

Deno.test({
  name:
    "H1Pool with a hand-off: armed and sent by the metronome's side, or written itself when late; sent() once",
  ignore: !native,
  async fn() {
    const s = httpServer();
    const pool = new H1Pool(s.url, 8, 4000, "native");
    const table = armedTable(4);
    const due = wallNowMs();
    const armed = new ArmedSends(table, Float64Array.of(due, due));
    const firer = new SendFirer(table);
    try {
      // 0: armed, then fired by the test as the metronome would.
      const sent0: number[] = [];
      const p0 = get(
        pool,
        new AbortController().signal,
        armed.handoff(0),
        (t) => sent0.push(t),
      );
      await untilArmed(table);
      const before = wallNowMs();
      assert.equal(firer.fire(0), true);
      const r0 = await p0;
      assert.equal(r0.status, 200);
      let text = "";
      for (;;) {
        const { done, value } = await r0.body.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.equal(text, "ok");
      assert.equal(sent0.length, 1);
      assert.ok(sent0[0] >= before, "the time of the metronome's send");
      // 1: its time passed before it was armed: written by the pool itself.
      assert.equal(firer.fire(1), false);
      const sent1: number[] = [];
      const r1 = await get(
        pool,
        new AbortController().signal,
        armed.handoff(1),
        (t) => sent1.push(t),
      );
      assert.equal(r1.status, 200);
      await r1.body.cancel();
      assert.equal(sent1.length, 1);
      assert.ok(sent1[0] >= due);
      assert.equal(s.requests, 2);
    } finally {
      pool.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "H1Pool with a hand-off: aborted while armed, withdrawn and never sent",
  ignore: !native,
  async fn() {
    const s = httpServer();
    const pool = new H1Pool(s.url, 8, 4000, "native");
    const table = armedTable(4);
    const armed = new ArmedSends(table, Float64Array.of(wallNowMs() + 60_000));
    const firer = new SendFirer(table);
    try {
      const ctl = new AbortController();
      const p = get(
        pool,
        ctl.signal,
        armed.handoff(0),
        () => assert.fail("sent() for a withdrawn request"),
      );
      await untilArmed(table);
      ctl.abort();
      await assert.rejects(
        p,
        (e) => e instanceof H1Error && /Aborted/.test(e.message),
      );
      assert.equal(stateOf(table, 0), SlotState.WITHDRAWN);
      assert.equal(firer.fire(0), false);
      assert.equal(s.requests, 0);
    } finally {
      pool.close();
      await s.close();
    }
  },
});

Deno.test({
  name:
    "replay() open loop with armed sends: every request once, none sent or released before its time",
  ignore: !native,
  async fn() {
    for (const armSends of [true, false]) {
      const s = await startScriptedWorker({
        recordSends: false,
        timing: { ttftBaseMs: 2, ttftPerInputTokenMs: 0, itlMs: 2 },
      });
      const clock = new RunClock();
      const backend = new OpenAIBackend({
        baseUrl: s.url,
        model: "scripted",
        nowNs: () => clock.nowNs(),
        sockets: "native",
      });
      assert.equal(backend.takesSendHandoffs, true);
      const rows: RequestRow[] = [];
      try {
        const result = await replay({
          backend,
          requests: reqs(40, 3, 2),
          recorder: { token: () => {}, request: (r) => rows.push(r) },
          clock,
          load: { mode: "open" },
          leadMs: 30,
          armSends,
        });
        assert.equal(result.status, "completed");
        assert.equal((await s.stats()).received, 40, `armSends ${armSends}`);
      } finally {
        await backend.close();
        await s.close();
      }
      assert.equal(rows.length, 40);
      const due = (r: RequestRow) => r.scheduledNs;
      for (const r of rows) {
        assert.equal(r.status, "ok", `${r.reqId}: ${r.error}`);
        assert.ok(r.sentNs! >= due(r), `${r.reqId} sent early`);
        assert.ok(r.releasedNs! >= due(r), `${r.reqId} released early`);
        assert.ok(
          r.sentNs! >= r.releasedNs!,
          `${r.reqId} sent before released`,
        );
      }
    }
  },
});

Deno.test({
  name:
    "H1Pool with a hand-off: cancelled right after its send, it ends Aborted even when the reply is already in",
  ignore: !native,
  async fn() {
    // A server on another thread replies at once and raises a flag once it has written the
    // reply; this thread waits for the flag without turning its event loop, so the reply is
    // in the socket before the request learns that it was sent (a busy reading thread).
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const src = `
      self.onmessage = async (e) => {
        const flag = new Int32Array(e.data);
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        self.postMessage(l.addr.port);
        const c = await l.accept();
        const buf = new Uint8Array(4096);
        let got = "";
        while (!got.includes("\\r\\n\\r\\n")) {
          const n = await c.read(buf);
          if (n === null) break;
          got += new TextDecoder().decode(buf.subarray(0, n));
        }
        await c.write(new TextEncoder().encode(
          "HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok",
        ));
        Atomics.store(flag, 0, 1);
        await c.read(buf).catch(() => null);
        c.close();
        l.close();
      };`;
    const worker = new Worker(
      URL.createObjectURL(new Blob([src], { type: "text/javascript" })),
      { type: "module" },
    );
    const port = await new Promise<number>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.postMessage(flag.buffer);
    });
    const pool = new H1Pool(
      new URL(`http://127.0.0.1:${port}`),
      8,
      4000,
      "native",
    );
    const table = armedTable(4);
    const armed = new ArmedSends(table, Float64Array.of(wallNowMs()));
    const ctl = new AbortController();
    try {
      const p = get(
        pool,
        ctl.signal,
        armed.handoff(0),
        // An injected cancellation with no delay: queued when the request is sent.
        () => queueMicrotask(() => ctl.abort()),
      );
      await untilArmed(table);
      assert.equal(new SendFirer(table).fire(0), true);
      while (Atomics.load(flag, 0) === 0) { /* the reply is being written */ }
      await assert.rejects(
        p,
        (e) => e instanceof H1Error && /Aborted/.test(e.message),
      );
    } finally {
      pool.close();
      worker.terminate();
    }
  },
});
