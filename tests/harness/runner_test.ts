import assert from "node:assert/strict";
import {
  OpenAIBackend,
  type OpenAIBackendOptions,
} from "../../adapters/openai/mod.ts";
import {
  type ScriptedWorkerOptions,
  startScriptedWorker,
} from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import type { RequestRow } from "../../harness/recorder.ts";
import type { LoadOptions } from "../../harness/load_plan.ts";
import { replay, type ReplayResult } from "../../harness/runner.ts";
import type { TraceRequest } from "../../workloads/mod.ts";
import { ElsewhereBackend, reqs } from "./_scripted.ts";

/** Records rows in memory (the store is tested elsewhere) and replays against a scripted server. */
async function run(
  server: ScriptedWorkerOptions,
  requests: TraceRequest[],
  load: LoadOptions,
  backendOpts: Partial<OpenAIBackendOptions> = {},
  spin = false,
): Promise<
  { result: ReplayResult; rows: RequestRow[]; stats: { received: number } }
> {
  const s = await startScriptedWorker({ recordSends: false, ...server });
  const clock = new RunClock();
  const backend = new (spin ? ElsewhereBackend : OpenAIBackend)({
    baseUrl: s.url,
    model: "scripted",
    nowNs: () => clock.nowNs(),
    ...backendOpts,
  });
  const rows: RequestRow[] = [];
  const recorder = {
    token: () => {},
    request: (r: RequestRow) => rows.push(r),
  };
  try {
    const result = await replay({
      backend,
      requests,
      recorder,
      clock,
      load,
      leadMs: 5,
    });
    return { result, rows, stats: await s.stats() };
  } finally {
    await backend.close();
    await s.close();
  }
}

const FAST = { timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0, itlMs: 5 } };

Deno.test("replay() closed loop never has more than N requests in flight", async () => {
  const { result, rows } = await run(FAST, reqs(40, 0, 4), {
    mode: "closed",
    users: 3,
  });
  assert.equal(result.status, "completed");
  assert.equal(rows.length, 40);
  assert.ok(result.peakInFlight <= 3, `peak ${result.peakInFlight}`);
  assert.equal(result.peakInFlight, 3);
  // Each user sends its next request only after its previous one ended.
  const spans = rows.map((r) => [r.sentNs!, r.doneNs!] as const).sort((a, b) =>
    a[0] < b[0] ? -1 : 1
  );
  for (const [sent] of spans) {
    const open = spans.filter(([s, d]) => s <= sent && d > sent).length;
    assert.ok(open <= 3, `${open} open at ${sent}`);
  }
});

Deno.test("replay() closed loop waits think time between a reply and the next request", async () => {
  const { rows } = await run(FAST, reqs(6, 0, 2), {
    mode: "closed",
    users: 1,
    thinkMs: 30,
  });
  const sorted = rows.sort((a, b) => (a.sentNs! < b.sentNs! ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    const gapMs = Number(sorted[i].sentNs! - sorted[i - 1].doneNs!) / 1e6;
    assert.ok(gapMs >= 30, `gap ${gapMs} ms`);
  }
});

Deno.test("replay() open loop with a concurrency cap queues and records the wait", async () => {
  // 12 requests all due at once, each ~60 ms long, at most 2 at a time.
  const { result, rows } = await run(
    { timing: { ttftBaseMs: 20, ttftPerInputTokenMs: 0, itlMs: 20 } },
    reqs(12, 0, 3),
    { concurrency: 2 },
  );
  assert.equal(result.peakInFlight, 2);
  assert.equal(rows.length, 12);
  const waits = rows.map((r) => Number(r.sentNs! - r.releasedNs!) / 1e6).sort((
    a,
    b,
  ) => a - b);
  // Two went at once: exactly two were sent before any request ended (no wall-clock bound).
  const firstDone = rows.reduce(
    (m, r) => (r.doneNs! < m ? r.doneNs! : m),
    rows[0].doneNs!,
  );
  assert.equal(rows.filter((r) => r.sentNs! < firstDone).length, 2);
  // The last waited for five rounds of two, each at least the server's 60 ms.
  assert.ok(waits.at(-1)! > 200, `last request waited only ${waits.at(-1)} ms`);
});

Deno.test("replay() limits: request count and duration stop sending", async (t) => {
  await t.step("maxRequests", async () => {
    const { result, rows } = await run(FAST, reqs(20, 1), { maxRequests: 7 });
    assert.equal(rows.length, 7);
    assert.equal(result.status, "completed");
  });
  await t.step(
    "durationMs ends sending, requests in flight finish",
    async () => {
      const { result, rows } = await run(FAST, reqs(100, 10), {
        durationMs: 150,
      });
      assert.equal(result.status, "completed");
      assert.equal(result.reason, "duration limit");
      // The limit is on the plan: the 15 planned at 0-140 ms are sent however late the
      // sender gets to them on a busy machine, none planned at 150 ms or later.
      assert.equal(rows.length, 15);
      assert.ok(rows.every((r) => r.status === "ok"));
    },
  );
});

Deno.test("replay() stops after N errors and cancels requests in flight", async () => {
  // 10 requests 1 ms apart, then 40 planned a minute later: the 4th error stops the run
  // long before those (however slow a busy machine makes the replies), so none is sent.
  const planned = reqs(50, 1).map((r, i) =>
    i < 10 ? r : { ...r, arrivalMs: 60_000 + i }
  );
  const { result, rows } = await run(
    { ...FAST, failEvery: 1 },
    planned,
    { stopAfterErrors: 4 },
  );
  assert.equal(result.status, "aborted");
  assert.equal(result.reason, "stopped after 4 failed requests (limit 4)");
  assert.ok(rows.length <= 10, `${rows.length} sent`);
  assert.ok(rows.filter((r) => r.status === "error").length >= 4);
});

Deno.test("replay() stops when the error rate in a window passes the bound", async () => {
  const { result } = await run(
    { ...FAST, failEvery: 2 },
    reqs(200, 2),
    { errorRate: { windowMs: 10_000, maxRate: 0.3, minRequests: 10 } },
  );
  assert.equal(result.status, "aborted");
  assert.match(
    result.reason!,
    /^stopped: \d+ of the last \d+ requests failed within 10000 ms/,
  );
});

Deno.test("replay() injects seeded cancellations, recorded as cancelled", async () => {
  const { result, rows } = await run(
    { timing: { ttftBaseMs: 50, ttftPerInputTokenMs: 0, itlMs: 10 } },
    reqs(40, 2, 5),
    { cancel: { rate: 0.5, delayMs: 10, seed: 3 } },
  );
  assert.equal(result.status, "completed");
  const cancelled = rows.filter((r) => r.status === "cancelled");
  assert.ok(
    cancelled.length >= 10 && cancelled.length <= 30,
    `${cancelled.length} cancelled`,
  );
  assert.ok(
    cancelled.every((r) => r.errorKind === "cancelled" && r.outputChunks === 0),
  );
  assert.equal(
    rows.filter((r) => r.status === "ok").length,
    40 - cancelled.length,
  );
});

Deno.test("replay() retries are off by default and recorded as attempts when on", async (t) => {
  await t.step("off", async () => {
    const { rows } = await run({ ...FAST, failEvery: 2 }, reqs(6, 5), {});
    assert.equal(rows.length, 6);
    assert.ok(rows.every((r) => r.attempt === 0));
  });
  await t.step("on: failed requests retried with their own rows", async () => {
    // Server ordinals 1, 3, 5, ... fail: every first try that fails is retried and succeeds.
    const { rows } = await run({ ...FAST, failEvery: 2 }, reqs(3, 50), {
      retries: { max: 2, backoffMs: 5 },
    });
    const retries = rows.filter((r) => r.attempt! > 0);
    assert.ok(retries.length >= 1);
    for (const r of retries) assert.match(r.reqId, /^r\d+~retry\d$/);
    // Every request ends ok eventually.
    for (const id of ["r0", "r1", "r2"]) {
      assert.ok(
        rows.some((r) => r.reqId.startsWith(id) && r.status === "ok"),
        id,
      );
    }
  });
  await t.step("HTTP 4xx is not retried", async () => {
    const { rows } = await run(FAST, [{ ...reqs(1, 0)[0], outputTokens: 0 }], {
      retries: { max: 3, backoffMs: 1 },
    });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].httpStatus, 400);
  });
});

Deno.test("replay() records every timeout kind with its kind", async (t) => {
  const cases: [
    string,
    ScriptedWorkerOptions,
    Partial<OpenAIBackendOptions>,
  ][] = [
    ["timeout_connect", { ...FAST, headerDelayMs: 2000 }, {
      connectTimeoutMs: 100,
    }],
    [
      "timeout_first_token",
      { timing: { ttftBaseMs: 2000, ttftPerInputTokenMs: 0, itlMs: 5 } },
      { firstTokenTimeoutMs: 100 },
    ],
    ["timeout_idle", { ...FAST, stallAfterTokens: 1 }, { idleTimeoutMs: 100 }],
    [
      "timeout_total",
      { timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0, itlMs: 50 } },
      { timeoutMs: 120 },
    ],
  ];
  for (const [kind, server, backendOpts] of cases) {
    await t.step(kind, async () => {
      const { rows } = await run(server, reqs(2, 5, 20), {}, backendOpts);
      assert.deepEqual(rows.map((r) => [r.status, r.errorKind]), [
        ["timeout", kind],
        ["timeout", kind],
      ]);
    });
  }
});

Deno.test("replay() sessions: turn k+1 only after turn k's reply plus think time, with history", async () => {
  const user = (content: string) => ({ role: "user" as const, content });
  const turn = (s: string, k: number, text: string): TraceRequest => ({
    id: `${s}.${k}`,
    arrivalMs: k * 5, // the trace's open-loop guess; replay must wait for replies instead
    inputTokens: 4,
    outputTokens: 3,
    sessionId: s,
    turn: k,
    thinkTimeMs: k === 0 ? undefined : 25,
    prompt: {
      kind: "chat",
      // As ShareGPT sessions give them: the recorded history, then the turn's new message.
      messages: k === 0 ? [user(text)] : [user("recorded history"), {
        role: "assistant",
        content: "recorded reply",
      }, user(text)],
    },
  });
  const requests = [
    turn("a", 0, "one two"),
    turn("b", 0, "alpha"),
    turn("a", 1, "three four five"),
    turn("b", 1, "beta gamma"),
    turn("a", 2, "six"),
  ];
  const { rows } = await run(
    { timing: { ttftBaseMs: 20, ttftPerInputTokenMs: 0, itlMs: 10 } },
    requests,
    { sessions: true },
    { api: "chat" },
  );
  const byId = new Map(rows.map((r) => [r.reqId, r]));
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => r.status === "ok"));
  for (const [prev, next] of [["a.0", "a.1"], ["a.1", "a.2"], ["b.0", "b.1"]]) {
    const gapMs = Number(byId.get(next)!.sentNs! - byId.get(prev)!.doneNs!) /
      1e6;
    assert.ok(gapMs >= 25, `${next} sent ${gapMs} ms after ${prev}'s reply`);
  }
  // The scripted server counts prompt words; each reply is 3 words ("t0 t1 t2").
  assert.deepEqual(
    ["a.0", "a.1", "a.2", "b.0", "b.1"].map((id) =>
      byId.get(id)!.promptTokensReported
    ),
    [2, 2 + 3 + 3, 2 + 3 + 3 + 3 + 1, 1, 1 + 3 + 2],
  );
});

Deno.test("replay() open loop with early beats never sends a request before its planned time", async () => {
  // Beats come up to their lead early (harness/metronome.ts); the sender spins the rest.
  const { result, rows } = await run(
    FAST,
    reqs(12, 15, 2),
    { mode: "open" },
    {},
    true,
  );
  assert.equal(result.status, "completed");
  const sent = new Map<string, RequestRow>();
  for (const r of rows) if (r.sentNs !== undefined) sent.set(r.reqId, r);
  assert.equal(sent.size, 12);
  for (const r of sent.values()) {
    assert.ok(
      r.sentNs! >= r.scheduledNs,
      `${r.reqId} sent ${Number(r.scheduledNs - r.sentNs!) / 1e6} ms early`,
    );
  }
});
