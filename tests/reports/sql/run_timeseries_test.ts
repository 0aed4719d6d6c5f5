import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, ms, RUN_B, RUN_D } from "../_fixture.ts";

const B = RUN_B.runId;

Deno.test("run_timeseries view", async (t) => {
  const fx = await createFixtureStore([RUN_B, RUN_D]);
  try {
    await t.step("run B in 1 s bins, worked out by hand", async () => {
      const rows = await fx.store.query(
        `select * from run_timeseries where run_id = $1 order by bin_index`,
        [B],
      );
      const bin = (k: number) => ({
        run_id: B,
        bin_index: BigInt(k),
        bin_start_ns: ms(k * 1000),
        bin_start_s: k,
      });
      assertRowsClose(rows, [
        {
          // b1 sent at 0; tokens at 100 and 600; b1 still streaming at 1 s
          ...bin(0),
          in_window: true,
          n_sent: 1n,
          n_completed: 0n,
          n_failed: 0n,
          output_tokens_per_s: 2n,
          in_flight_at_bin_end: 1n,
          n_latency: 1n,
          ttft_p50_ms: 100,
          ttft_p99_ms: 100,
          tpot_p50_ms: 1000 / 3, // (1100 - 100) / 3
          tpot_p99_ms: 1000 / 3,
          schedule_lag_max_ms: 0,
        },
        {
          // b2 sent at 1000; b1 done at 1100; tokens 2 + 1 + 3
          ...bin(1),
          in_window: true,
          n_sent: 1n,
          n_completed: 1n,
          n_failed: 0n,
          output_tokens_per_s: 6n,
          in_flight_at_bin_end: 1n,
          n_latency: 1n,
          ttft_p50_ms: 500,
          ttft_p99_ms: 500,
          tpot_p50_ms: 150, // (2100 - 1500) / 4
          tpot_p99_ms: 150,
          schedule_lag_max_ms: 0,
        },
        {
          // b2 done at 2500; its last token at 2100; the bin ends past the window (2.5 s)
          ...bin(2),
          in_window: false,
          n_sent: 0n,
          n_completed: 1n,
          n_failed: 0n,
          output_tokens_per_s: 1n,
          in_flight_at_bin_end: 0n,
          n_latency: 0n,
          ttft_p50_ms: null,
          ttft_p99_ms: null,
          tpot_p50_ms: null,
          tpot_p99_ms: null,
          schedule_lag_max_ms: null,
        },
      ]);
    });

    await t.step("a run without a window has no bins", async () => {
      assert.deepStrictEqual(
        await fx.store.query(`select * from run_timeseries where run_id = $1`, [
          RUN_D.runId,
        ]),
        [],
      );
    });

    await t.step("invariant: bins add up to the run's totals", async () => {
      const bad = await fx.store.query(
        `select s.run_id from (
           select run_id, sum(n_sent) as sent, sum(output_tokens_per_s) as tokens
           from run_timeseries group by run_id) as s
         where s.sent <> (select count(*) from requests as r where r.run_id = s.run_id)
            or s.tokens <> (select sum(n_tokens) from token_bearing_events as e
                            where e.run_id = s.run_id)`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
