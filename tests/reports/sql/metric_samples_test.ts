import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B } from "../_fixture.ts";

Deno.test("metric_samples view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B]);
  try {
    await t.step("run B's samples by metric", async () => {
      const rows = await fx.store.query(
        `select metric, list(value_ms order by value_ms) as values
         from metric_samples where run_id = $1 group by metric order by metric`,
        [RUN_B.runId],
      );
      assert.deepStrictEqual(
        rows.map((r) => [r.metric, (r.values as { items: number[] }).items]),
        [
          ["e2e_ms", [1100, 1100]],
          ["itl_ms", [200, 400, 500, 500]],
          ["tpot_ms", [150, 1000 / 3]],
          ["ttft_ms", [100, 500]],
        ],
      );
    });

    await t.step(
      "invariant: counts equal run_latency_summary's n",
      async () => {
        const bad = await fx.store.query(
          `select s.run_id, s.metric from run_latency_summary as s
         where s.metric in ('ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms')
           and s.n <> (select count(*) from metric_samples as m
                       where m.run_id = s.run_id and m.metric = s.metric)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
