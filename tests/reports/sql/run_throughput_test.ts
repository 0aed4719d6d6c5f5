import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B, RUN_C, RUN_D } from "../_fixture.ts";

const INVARIANTS: Record<string, string> = {
  "n_total = n_ok + n_error + n_timeout + n_cancelled":
    `select * from run_throughput where n_total <> n_ok + n_error + n_timeout + n_cancelled`,
  "n_total + n_outside_window = requests of the run":
    `select t.* from run_throughput as t
     where t.n_total + t.n_outside_window
       <> (select count(*) from requests as r where r.run_id = t.run_id)`,
  "total_tokens_per_s >= output_tokens_per_s":
    `select * from run_throughput where total_tokens_per_s < output_tokens_per_s`,
  "rates are NULL exactly when the window is missing or empty":
    `select * from run_throughput
     where (request_throughput_rps is null) <> (window_s is null or window_s = 0)`,
  "goodput_rps <= request_throughput_rps (no bound, and a tight one)":
    `select * from run_throughput as t
     join slo_attainment(null, null, null) as g on g.run_id = t.run_id
     join slo_attainment(25, 10, 60) as h on h.run_id = t.run_id
     where g.goodput_rps > t.request_throughput_rps
        or h.goodput_rps > t.request_throughput_rps`,
};

Deno.test("run_throughput view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C, RUN_D]);
  try {
    await t.step("counts and rates per run, worked out by hand", async () => {
      const rows = await fx.store.query(
        `select * from run_throughput order by run_id`,
      );
      assert.deepStrictEqual(rows, [
        {
          // A: window 0.25 s; ok r1, r2, r6: output 1 + 5 + 4 (r6 usage), input 10 + 20 + 20
          run_id: RUN_A.runId,
          window_s: 0.25,
          n_total: 6n,
          n_ok: 3n,
          n_error: 1n,
          n_timeout: 1n,
          n_cancelled: 1n,
          n_outside_window: 0n,
          n_in_flight: 0n,
          output_tokens: 9n, // 1 + 5 + 3: r6 streamed 3 (its usage says 4)
          input_tokens: 50n,
          request_throughput_rps: 12, // 3 / 0.25
          output_tokens_per_s: 36, // 9 / 0.25
          total_tokens_per_s: 236, // 59 / 0.25
          // all events fall in bin [2 ms, 1002 ms): r1 1 + r2 5 + r6 3 counted tokens
          // (r4 and r5 are not completed; r6's usage-only token has no time)
          max_output_tokens_per_s_1s_bin: 9,
        },
        {
          // B: window 2.5 s; output 4 + 5, input 100 + 200
          run_id: RUN_B.runId,
          window_s: 2.5,
          n_total: 2n,
          n_ok: 2n,
          n_error: 0n,
          n_timeout: 0n,
          n_cancelled: 0n,
          n_outside_window: 0n,
          n_in_flight: 0n,
          output_tokens: 9n,
          input_tokens: 300n,
          request_throughput_rps: 0.8, // 2 / 2.5
          output_tokens_per_s: 3.6, // 9 / 2.5
          total_tokens_per_s: 123.6, // 309 / 2.5
          // bins: [0, 1 s) 1 + 1 = 2; [1 s, 2 s) 2 + 1 + 3 = 6; [2 s, 2.5 s] 1
          max_output_tokens_per_s_1s_bin: 6,
        },
        {
          // C: window 0.03 s exists but nothing completed: rates are 0, the peak has no bin
          run_id: RUN_C.runId,
          window_s: 0.03,
          n_total: 3n,
          n_ok: 0n,
          n_error: 1n,
          n_timeout: 1n,
          n_cancelled: 1n,
          n_outside_window: 0n,
          n_in_flight: 0n,
          output_tokens: 0n,
          input_tokens: 0n,
          request_throughput_rps: 0,
          output_tokens_per_s: 0,
          total_tokens_per_s: 0,
          max_output_tokens_per_s_1s_bin: null,
        },
        {
          // D: no requests, no window: rates NULL, never 0
          run_id: RUN_D.runId,
          window_s: null,
          n_total: 0n,
          n_ok: 0n,
          n_error: 0n,
          n_timeout: 0n,
          n_cancelled: 0n,
          n_outside_window: 0n,
          n_in_flight: 0n,
          output_tokens: 0n,
          input_tokens: 0n,
          request_throughput_rps: null,
          output_tokens_per_s: null,
          total_tokens_per_s: null,
          max_output_tokens_per_s_1s_bin: null,
        },
      ]);
    });

    for (const [rule, sql] of Object.entries(INVARIANTS)) {
      await t.step(`invariant: ${rule}`, async () => {
        assert.deepStrictEqual(await fx.store.query(sql), []);
      });
    }
  } finally {
    await fx.dispose();
  }
});
