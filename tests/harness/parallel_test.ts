import assert from "node:assert/strict";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import {
  type ScriptedWorkerOptions,
  startScriptedWorker,
} from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { autoWorkers, planLanes } from "../../harness/parallel.ts";
import { executeRun } from "../../harness/run_session.ts";
import type { LoadOptions } from "../../harness/load_plan.ts";
import type { ReplayProgress } from "../../harness/runner.ts";
import { Store } from "../../harness/store.ts";
import { synthesizePrompts, type TraceRequest } from "../../workloads/mod.ts";
import { reqs, tempDb } from "./_scripted.ts";

const ns = (v: unknown) => BigInt(v as bigint);

const FAST = { timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0, itlMs: 3 } };

/** One run into a real database against a scripted server; returns its rows. */
async function spreadRun(
  workers: number,
  requests: TraceRequest[],
  load: LoadOptions,
  server: ScriptedWorkerOptions = FAST,
  signal?: AbortSignal,
  onProgress?: (p: ReplayProgress) => void,
) {
  const s = await startScriptedWorker({ recordSends: false, ...server });
  const db = await tempDb();
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: s.url,
    model: "scripted",
    nowNs: () => clock.nowNs(),
  });
  try {
    const r = await executeRun({
      dbPath: db,
      backend,
      clock,
      requests,
      load,
      workers,
      signal,
      onProgress,
    });
    const store = await Store.open(db, { readOnly: true });
    try {
      const rows = await store.query(
        `select req_id, status, sent_ns, done_ns, scheduled_ns, output_chunks,
           session_id, turn, attempt
         from requests where run_id = $1 order by scheduled_ns, req_id`,
        [r.runId],
      );
      const tokens = await store.query(
        `select req_id, count(*)::int as n, min(seq)::int as lo, max(seq)::int as hi
         from token_events where run_id = $1 group by req_id`,
        [r.runId],
      );
      const run = (await store.query(
        "select status from runs where run_id = $1",
        [r.runId],
      ))[0];
      return { r, rows, tokens, run, stats: await s.stats() };
    } finally {
      store.close();
    }
  } finally {
    await backend.close();
    await s.close();
  }
}

Deno.test("planLanes: open loop deals heads round-robin, sessions stay together, lanes never outnumber the cap", () => {
  const list: TraceRequest[] = [
    {
      id: "a1",
      arrivalMs: 0,
      inputTokens: 1,
      outputTokens: 1,
      sessionId: "a",
      turn: 0,
    },
    { id: "b", arrivalMs: 1, inputTokens: 1, outputTokens: 1 },
    {
      id: "a2",
      arrivalMs: 2,
      inputTokens: 1,
      outputTokens: 1,
      sessionId: "a",
      turn: 1,
    },
    { id: "c", arrivalMs: 3, inputTokens: 1, outputTokens: 1 },
    { id: "d", arrivalMs: 4, inputTokens: 1, outputTokens: 1 },
  ];
  const heads = list.filter((r) => r.id !== "a2");
  const lanes = planLanes(list, heads, { sessions: true, concurrency: 5 }, 2);
  assert.deepEqual(lanes.map((l) => l.requests.map((r) => r.id)), [
    ["a1", "a2", "c"],
    ["b", "d"],
  ]);
  assert.deepEqual(lanes.map((l) => l.indices), [[0, 2, 3], [1, 4]]);
  assert.deepEqual(lanes.map((l) => l.heads), [[0, 2], [1, 3]]);
  // The cap is the run's shared one, not in the lanes' load.
  assert.deepEqual(lanes.map((l) => l.load.concurrency), [
    undefined,
    undefined,
  ]);
  // Never more lanes than the cap or the heads.
  assert.equal(planLanes(list, heads, { concurrency: 1 }, 4).length, 1);
  assert.equal(planLanes(list, heads.slice(0, 2), {}, 4).length, 2);
  // Closed loop: everyone gets everything, users dealt round-robin.
  const closed = planLanes(list, list, { mode: "closed", users: 3 }, 2);
  assert.deepEqual(closed.map((l) => l.users), [[0, 2], [1]]);
  assert.ok(closed.every((l) => l.requests.length === list.length));
});

Deno.test("spread run: 3 workers record every request and token, like one thread", async () => {
  const requests = reqs(60, 2, 5);
  const one = await spreadRun(1, requests, {});
  const three = await spreadRun(3, requests, {});
  for (const x of [one, three]) {
    assert.equal(x.r.status, "completed");
    assert.equal(x.run.status, "completed");
    assert.equal(x.rows.length, 60);
    assert.ok(x.rows.every((r) => r.status === "ok"), "all ok");
    assert.equal(x.tokens.length, 60);
    for (const t of x.tokens) {
      assert.equal(t.n, 5, `${t.req_id} has 5 chunks`);
      assert.equal(t.lo, 0);
      assert.equal(t.hi, 4);
    }
    assert.equal(x.r.replay.progress.done, 60);
    assert.equal(x.r.replay.progress.tokens, 300);
    // Sent at (or just after) the planned time, never before.
    for (const r of x.rows) {
      assert.ok(
        ns(r.sent_ns) >= ns(r.scheduled_ns),
        `${r.req_id} sent early`,
      );
    }
  }
  // The plan is the same: the same scheduled offsets between requests.
  const offs = (rows: Record<string, unknown>[]) => {
    const t0 = BigInt(rows[0].scheduled_ns as bigint);
    return rows.map((r) =>
      `${r.req_id}@${BigInt(r.scheduled_ns as bigint) - t0}`
    );
  };
  assert.deepEqual(offs(three.rows), offs(one.rows));
});

Deno.test("spread run: closed loop over 2 workers never exceeds N users in flight", async () => {
  const x = await spreadRun(2, reqs(40, 0, 4), { mode: "closed", users: 4 });
  assert.equal(x.r.status, "completed");
  assert.equal(x.rows.length, 40);
  assert.ok(x.r.replay.peakInFlight <= 4, `peak ${x.r.replay.peakInFlight}`);
  // Each request went exactly once (the shared cursor hands out each index once).
  assert.equal(new Set(x.rows.map((r) => r.req_id)).size, 40);
  assert.equal(x.stats.received, 40);
});

Deno.test("spread run: the concurrency cap holds across workers", async () => {
  const x = await spreadRun(2, reqs(30, 0, 6), { concurrency: 5 });
  assert.equal(x.rows.length, 30);
  assert.ok(x.r.replay.peakInFlight <= 5, `peak ${x.r.replay.peakInFlight}`);
});

Deno.test("spread run: a stop after N errors in one worker stops all of them", async () => {
  // 300 requests over 6 s; the third failure comes at the 12th (~0.25 s), so sending stops
  // long before the plan ends however slow the machine is.
  const x = await spreadRun(
    3,
    reqs(300, 20, 3),
    { stopAfterErrors: 3 },
    { ...FAST, failEvery: 4 },
  );
  assert.equal(x.r.status, "aborted");
  assert.match(x.r.replay.reason ?? "", /stopped after \d+ failed requests/);
  assert.equal(x.run.status, "aborted");
  assert.ok(x.rows.length < 300, `stopped early (${x.rows.length} rows)`);
});

Deno.test("spread run: the error-rate window sees every worker's requests", async () => {
  // 400 requests over 4 s; the rate trips after ~10 ended requests.
  const x = await spreadRun(
    2,
    reqs(400, 10, 2),
    { errorRate: { windowMs: 5000, maxRate: 0.3, minRequests: 10 } },
    { ...FAST, failEvery: 2 },
  );
  assert.equal(x.r.status, "aborted");
  assert.match(x.r.replay.reason ?? "", /requests failed within 5000 ms/);
  assert.ok(x.rows.length < 400);
});

Deno.test("spread run: sessions send turn k+1 after turn k's reply, in the same worker", async () => {
  const requests: TraceRequest[] = [];
  for (let s = 0; s < 6; s++) {
    for (let t = 0; t < 3; t++) {
      requests.push({
        id: `s${s}t${t}`,
        arrivalMs: s * 3 + t * 20,
        inputTokens: 4,
        outputTokens: 3,
        sessionId: `s${s}`,
        turn: t,
        thinkTimeMs: 5,
      });
    }
  }
  requests.sort((a, b) => a.arrivalMs - b.arrivalMs);
  const x = await spreadRun(
    3,
    synthesizePrompts(requests, { kind: "token_ids" }),
    { sessions: true },
  );
  assert.equal(x.rows.length, 18);
  const byId = new Map(x.rows.map((r) => [r.req_id as string, r]));
  for (let s = 0; s < 6; s++) {
    for (let t = 1; t < 3; t++) {
      const prev = byId.get(`s${s}t${t - 1}`)!, cur = byId.get(`s${s}t${t}`)!;
      assert.ok(
        ns(cur.sent_ns) >= ns(prev.done_ns) + 5_000_000n,
        `s${s}t${t} sent after the reply plus think time`,
      );
    }
  }
});

Deno.test("spread run: aborting cancels in every worker and leaves a readable, aborted run", async () => {
  const ac = new AbortController();
  const x = await spreadRun(
    2,
    reqs(200, 10, 50),
    {},
    { timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0, itlMs: 10 } },
    ac.signal,
    // Abort once requests are in flight in the workers (progress comes from shared counters).
    (p) => {
      if (p.inFlight > 4) ac.abort("SIGINT");
    },
  );
  assert.equal(x.r.status, "aborted");
  assert.equal(x.run.status, "aborted");
  assert.ok(
    x.rows.some((r) => r.status === "cancelled"),
    "in-flight cancelled",
  );
  assert.ok(x.rows.length < 200);
});

Deno.test("autoWorkers: one sender thread per 500 req/s of the busiest second, at most cores - 1", () => {
  const at = (rps: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ arrivalMs: (i * 1000) / rps }));
  assert.equal(autoWorkers(at(100, 1000), {}, 16), 1);
  assert.equal(autoWorkers(at(1000, 5000), {}, 16), 2);
  assert.equal(autoWorkers(at(1001, 5000), {}, 16), 3);
  assert.equal(autoWorkers(at(1000, 5000), {}, 2), 1);
  assert.equal(autoWorkers(at(100_000, 200_000), {}, 64), 16);
  // A burst counts, not the average.
  const burst = [
    ...at(2000, 2000),
    ...at(1, 100).map((r) => ({ arrivalMs: r.arrivalMs + 5000 })),
  ];
  assert.equal(autoWorkers(burst, {}, 16), 4);
  assert.equal(autoWorkers(at(2000, 2000), { maxRequests: 400 }, 16), 1);
  assert.equal(autoWorkers([], {}, 16), 1);
  assert.equal(autoWorkers([], { mode: "closed", users: 300 }, 16), 3);
});

Deno.test("spread run: one cap for the run: a worker uses slots another leaves free", async () => {
  // Even requests (worker 0) stream long (200 tokens, ~0.6 s), odd ones (worker 1) end at
  // once; cap 4 over 2 workers. A cap split per worker would hold worker 0 at 2 long requests
  // at a time.
  const requests = synthesizePrompts(
    Array.from({ length: 12 }, (_, i) => ({
      id: `r${i}`,
      arrivalMs: 0,
      inputTokens: 8,
      outputTokens: i % 2 === 0 ? 200 : 1,
    })),
    { kind: "token_ids" },
  );
  const x = await spreadRun(2, requests, { concurrency: 4 });
  assert.equal(x.rows.length, 12);
  assert.ok(x.r.replay.peakInFlight <= 4, `peak ${x.r.replay.peakInFlight}`);
  const evens = x.rows.filter((r) =>
    Number(String(r.req_id).slice(1)) % 2 === 0
  );
  let most = 0;
  for (const a of evens) {
    const t = ns(a.sent_ns);
    const overlap = evens.filter((b) =>
      ns(b.sent_ns) <= t && ns(b.done_ns) > t
    ).length;
    most = Math.max(most, overlap);
  }
  assert.ok(most >= 3, `worker 0 had at most ${most} requests in flight`);
});
