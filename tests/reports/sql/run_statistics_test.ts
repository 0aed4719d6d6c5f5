import assert from "node:assert/strict";
import { createFixtureStore, RUN_B, RUN_D } from "../_fixture.ts";

Deno.test("run_statistics()", async (t) => {
  const fx = await createFixtureStore([RUN_B, RUN_D]);
  try {
    await t.step(
      "one value per run and statistic, worked out by hand",
      async () => {
        const rows = await fx.store.query(
          `select row_order, metric, statistic, round(value, 6) as value, n
         from run_statistics(100, null, null) where run_id = $1 order by row_order`,
          [RUN_B.runId],
        );
        // RUN_B: TTFT 100 and 500 ms; TPOT 150 and 1000/3; gaps 500, 500, 400, 200 ms;
        // E2E 1100 and 1100; goodput: b1 meets ttft <= 100 over a 2.5 s window
        const r = (o: number, m: string, s: string, v: number, n: number) => ({
          row_order: o,
          metric: m,
          statistic: s,
          value: Math.round(v * 1e6) / 1e6,
          n: BigInt(n),
        });
        assert.deepStrictEqual(rows, [
          r(1, "ttft_ms", "p50", 300, 2),
          r(2, "ttft_ms", "p99", 496, 2),
          r(3, "tpot_ms", "p50", (150 + 1000 / 3) / 2, 2),
          r(4, "tpot_ms", "p99", 150 + 0.99 * (1000 / 3 - 150), 2),
          r(5, "itl_ms", "p50", 450, 4),
          r(6, "itl_ms", "p99", 500, 4),
          r(7, "e2e_ms", "p50", 1100, 2),
          r(8, "e2e_ms", "p99", 1100, 2),
          r(9, "goodput_rps", "value", 0.4, 2),
        ]);
      },
    );

    await t.step(
      "a run without requests gives NULL values, never 0",
      async () => {
        const rows = await fx.store.query(
          `select count(*) as rows, count(value) as values, sum(n) as n
         from run_statistics(100, null, null) where run_id = $1`,
          [RUN_D.runId],
        );
        assert.deepStrictEqual(rows, [{ rows: 9n, values: 0n, n: 0n }]);
      },
    );

    await t.step(
      "invariant: the latency values are run_latency_summary's",
      async () => {
        const bad = await fx.store.query(
          `select s.* from run_statistics(null, null, null) as s
         join run_latency_summary as l on l.run_id = s.run_id and l.metric = s.metric
         where s.value is distinct from
           case s.statistic when 'p50' then l.p50_ms else l.p99_ms end`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
