import assert from "node:assert/strict";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import {
  startScriptedWorker,
  toLocalPerfMs,
} from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { executeRun } from "../../harness/run_session.ts";
import { Store } from "../../harness/store.ts";
import { synthesizePrompts, type TraceRequest } from "../../workloads/mod.ts";
import { tempDb } from "./_scripted.ts";

/** Replays 24 overlapping streams against a scripted server; returns the worst token error. */
async function worstTokenErrorMs(): Promise<number> {
  // The server runs on its own thread, as a remote server would: its send times are the truth.
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 30, ttftPerInputTokenMs: 0, itlMs: 15 },
  });
  const db = await tempDb();
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: server.url,
    api: "completions",
    endpointKind: "vllm",
    timeoutMs: 30_000,
    nowNs: () => clock.nowNs(),
  });
  // 24 requests 25 ms apart, 12 tokens each: up to ~8 streams overlap.
  const requests: TraceRequest[] = synthesizePrompts(
    Array.from({ length: 24 }, (_, i) => ({
      id: `r${i}`,
      arrivalMs: i * 25,
      inputTokens: 32,
      outputTokens: 12,
    })),
    { kind: "token_ids" },
  );
  const { runId, status } = await executeRun({
    dbPath: db,
    backend,
    clock,
    requests,
  });
  const sendLog = await server.sendLog();
  await server.close();
  await backend.close();
  assert.equal(status, "completed");

  const store = await Store.open(db, { readOnly: true });
  try {
    const rows = await store.query(
      "select req_id, seq, t_ns from token_events where run_id = $1 order by req_id, seq",
      [runId],
    );
    assert.equal(rows.length, 24 * 12);
    let worst = 0;
    for (const r of rows) {
      const sent = toLocalPerfMs(
        sendLog.get(r.req_id as string)![r.seq as number],
      );
      const err = clock.toPerfMs(r.t_ns as bigint) - sent;
      assert.ok(
        err >= -0.01,
        `token ${r.req_id}#${r.seq} stored ${err} ms before it was sent`,
      );
      worst = Math.max(worst, Math.abs(err));
    }
    const reqs = await store.query(
      `select count(*)::int as n, count(*) filter (where status = 'ok')::int as ok
       from requests where run_id = $1`,
      [runId],
    );
    assert.deepEqual(reqs[0], { n: 24, ok: 24 });
    return worst;
  } finally {
    store.close();
  }
}

Deno.test("executeRun() stores every token time within 2 ms of the server's send time", async () => {
  // One repeat is allowed: on a 2-core machine another process can take a core for a few ms.
  // A harness that is really slow fails both attempts.
  const attempts: number[] = [];
  for (let i = 0; i < 2; i++) {
    attempts.push(await worstTokenErrorMs());
    if (attempts.at(-1)! <= 2) break;
  }
  console.log(
    `worst |stored - sent| per attempt: ${
      attempts.map((a) => a.toFixed(3)).join(", ")
    } ms`,
  );
  assert.ok(
    attempts.at(-1)! <= 2,
    `worst token error ${attempts.at(-1)!.toFixed(3)} ms > 2 ms`,
  );
});
