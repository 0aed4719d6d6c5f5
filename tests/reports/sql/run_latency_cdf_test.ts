import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B, RUN_D } from "../_fixture.ts";

/** The 101 levels as a constant list (quantile_cont takes only constants). */
const LEVELS = `[${
  Array.from({ length: 101 }, (_, i) => (i / 100).toFixed(2)).join(", ")
}]`;

Deno.test("run_latency_cdf view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_D]);
  try {
    await t.step(
      "run B's TTFT at chosen levels, worked out by hand",
      async () => {
        // ttft samples 100 and 500: value = 100 + fraction * 400
        const rows = await fx.store.query(
          `select level_index, cumulative_fraction, n, value_ms from run_latency_cdf
         where run_id = $1 and metric = 'ttft_ms' and level_index in (0, 25, 50, 99, 100)
         order by level_index`,
          [RUN_B.runId],
        );
        assert.deepStrictEqual(rows, [
          { level_index: 0n, cumulative_fraction: 0, n: 2n, value_ms: 100 },
          { level_index: 25n, cumulative_fraction: 0.25, n: 2n, value_ms: 200 },
          { level_index: 50n, cumulative_fraction: 0.5, n: 2n, value_ms: 300 },
          { level_index: 99n, cumulative_fraction: 0.99, n: 2n, value_ms: 496 },
          { level_index: 100n, cumulative_fraction: 1, n: 2n, value_ms: 500 },
        ]);
      },
    );

    await t.step(
      "invariant: every level equals quantile_cont of the same sample",
      async () => {
        const bad = await fx.store.query(
          `with s as (
             select m.run_id, 'ttft_ms' as metric, m.ttft_ms as v from request_metrics as m
             where m.status = 'ok'
             union all
             select run_id, 'tpot_ms', tpot_ms from request_metrics where status = 'ok'
             union all
             select run_id, 'e2e_ms', e2e_ms from request_metrics where status = 'ok'
             union all
             select run_id, 'itl_ms', itl_ms from itl_gaps where status = 'ok')
           , q as (select run_id, metric, quantile_cont(v, ${LEVELS}) as q from s
                    group by all)
           select c.run_id, c.metric, c.level_index from run_latency_cdf as c
           join q on q.run_id = c.run_id and q.metric = c.metric
           where abs(c.value_ms - q.q[c.level_index + 1]) > 1e-9`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );

    await t.step(
      "a run without samples keeps its 404 rows with NULL values",
      async () => {
        const rows = await fx.store.query(
          `select count(*) as rows, count(value_ms) as values, max(n) as n
           from run_latency_cdf where run_id = $1`,
          [RUN_D.runId],
        );
        assert.deepStrictEqual(rows, [{ rows: 404n, values: 0n, n: 0n }]);
      },
    );

    await t.step(
      "invariant: values never decrease with the level",
      async () => {
        const bad = await fx.store.query(
          `select * from (
           select *, lag(value_ms) over (partition by run_id, metric order by level_index) as prev
           from run_latency_cdf) where value_ms < prev`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
