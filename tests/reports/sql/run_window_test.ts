import assert from "node:assert/strict";
import {
  createFixtureStore,
  type FixtureRun,
  insertRun,
  ms,
  RUN_A,
  RUN_B,
  RUN_C,
  RUN_D,
  RUN_E,
} from "../_fixture.ts";

const POLICY = "first_sent_to_last_completion";

function windowRow(
  run_id: string,
  startMs: number | null,
  endMs: number | null,
  window_s: number | null,
) {
  const ns = (v: number | null) => v === null ? null : ms(v);
  return {
    run_id,
    first_sent_ns: ns(startMs),
    last_completion_ns: ns(endMs),
    warmup_ns: 0n,
    cooldown_ns: 0n,
    window_start_ns: ns(startMs),
    window_end_ns: ns(endMs),
    window_ns: startMs === null || endMs === null ? null : ms(endMs - startMs),
    window_s,
    window_policy: POLICY,
  };
}

/** Only an HTTP error that streamed nothing: a start but no end. */
const RUN_ERRORS_ONLY: FixtureRun = {
  runId: "e0000000-0000-4000-8000-00000000000e",
  label: "errors-only",
  status: "completed",
  backend: "openai",
  startedAt: "2026-11-20T14:00:00.000Z",
  finishedAt: "2026-11-20T14:00:01.000Z",
  endReason: null,
  requests: [{
    reqId: "e1",
    status: "error",
    schedMs: 0,
    sentMs: 3,
    doneMs: null,
    inputTokensPlanned: 10,
    outputTokensPlanned: 4,
    promptTokensReported: null,
    completionTokensReported: null,
    httpStatus: 500,
    events: [],
  }],
};

Deno.test("run_window view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C, RUN_D]);
  try {
    await t.step(
      "one row per run, from first send to last completion",
      async () => {
        const rows = await fx.store.query(
          `select * from run_window order by run_id`,
        );
        assert.deepStrictEqual(rows, [
          // A: r1 sent at 2; r4 (timeout, no done) streamed its last token at 252
          windowRow(RUN_A.runId, 2, 252, 0.25),
          // B: b1 sent at 0; b2 done at 2500
          windowRow(RUN_B.runId, 0, 2500, 2.5),
          // C: c1 sent at 0; the only completion is c2's token at 30 (cancelled counts here)
          windowRow(RUN_C.runId, 0, 30, 0.03),
          // D: no request, no window
          windowRow(RUN_D.runId, null, null, null),
        ]);
      },
    );

    await t.step(
      "a run whose requests never finished nor streamed has no window",
      async () => {
        await insertRun(fx.store, RUN_ERRORS_ONLY);
        const rows = await fx.store.query(
          `select * from run_window where run_id = $1`,
          [RUN_ERRORS_ONLY.runId],
        );
        assert.deepStrictEqual(rows, [
          windowRow(RUN_ERRORS_ONLY.runId, 3, null, null),
        ]);
      },
    );

    await t.step(
      "configured warm-up and cool-down trim both ends",
      async () => {
        await insertRun(fx.store, RUN_E);
        const rows = await fx.store.query(
          `select * from run_window where run_id = $1`,
          [RUN_E.runId],
        );
        // first send 0 + 100 ms warm-up; last completion 600 - 100 ms cool-down
        assert.deepStrictEqual(rows, [{
          run_id: RUN_E.runId,
          first_sent_ns: ms(0),
          last_completion_ns: ms(600),
          warmup_ns: ms(100),
          cooldown_ns: ms(100),
          window_start_ns: ms(100),
          window_end_ns: ms(500),
          window_ns: ms(400),
          window_s: 0.4,
          window_policy: POLICY,
        }]);
      },
    );

    await t.step(
      "invariant: window_ns >= 0 and window_s = window_ns / 1e9",
      async () => {
        const bad = await fx.store.query(
          `select * from run_window where window_ns < 0 or window_s <> window_ns / 1e9
           or (window_ns is null) <> (window_s is null)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );

    await t.step(
      "invariant: without trims every sent request starts inside its run's window",
      async () => {
        const bad = await fx.store.query(
          `select m.* from request_metrics as m join run_window as w on w.run_id = m.run_id
         where w.warmup_ns = 0 and w.cooldown_ns = 0
           and (m.sent_ns < w.window_start_ns or m.completion_ns > w.window_end_ns)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
