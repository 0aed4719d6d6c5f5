import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, RUN_A, RUN_D } from "../_fixture.ts";

const A = RUN_A.runId;

Deno.test("run_anchor_latency_summary view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_D]);
  try {
    await t.step(
      "variants that differ from ours, worked out by hand (completed r1, r2, r6)",
      async () => {
        const rows = await fx.store.query(
          `select metric, tool, same_as, n, mean_ms, p50_ms, p90_ms, p99_ms, max_ms
           from run_anchor_latency_summary
           where run_id = $1 and same_as is null order by metric_order`,
          [A],
        );
        assertRowsClose(rows, [
          // first byte - sent: r1 43, r2 28, r6 5 -> sorted 5, 28, 43 (position q * 2)
          {
            metric: "vllm_ttft_ms",
            tool: "vllm",
            same_as: null,
            n: 3n,
            mean_ms: 76 / 3,
            p50_ms: 28,
            p90_ms: 40, // 28 + 0.8 * 15
            p99_ms: 42.7, // 28 + 0.98 * 15
            max_ms: 43,
          },
          // r2 15.5, r6 22.5 (n = 3 streamed; r1 has n = 1)
          {
            metric: "vllm_tpot_ms",
            tool: "vllm",
            same_as: null,
            n: 2n,
            mean_ms: 19,
            p50_ms: 19,
            p90_ms: 21.8, // 15.5 + 0.9 * 7
            p99_ms: 22.43,
            max_ms: 22.5,
          },
          // done - sent: r1 53, r2 95, r6 55 -> 53, 55, 95
          {
            metric: "sglang_e2e_ms",
            tool: "sglang",
            same_as: null,
            n: 3n,
            mean_ms: 203 / 3,
            p50_ms: 55,
            p90_ms: 87, // 55 + 0.8 * 40
            p99_ms: 94.2,
            max_ms: 95,
          },
        ]);
      },
    );

    await t.step(
      "invariant: a variant with same_as has exactly our metric's statistics",
      async () => {
        const bad = await fx.store.query(
          `select a.run_id, a.metric from run_anchor_latency_summary as a
           join run_latency_summary as s on s.run_id = a.run_id and s.metric = a.same_as
           where a.n <> s.n or a.mean_ms is distinct from s.mean_ms
              or a.p50_ms is distinct from s.p50_ms or a.p99_ms is distinct from s.p99_ms
              or a.p999_ms is distinct from s.p999_ms or a.max_ms is distinct from s.max_ms`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );

    await t.step(
      "a run without samples: 14 rows, n = 0, statistics NULL",
      async () => {
        const rows = await fx.store.query(
          `select count(*) as rows, max(n) as n, count(p50_ms) as values
           from run_anchor_latency_summary where run_id = $1`,
          [RUN_D.runId],
        );
        assert.deepStrictEqual(rows, [{ rows: 14n, n: 0n, values: 0n }]);
      },
    );
  } finally {
    await fx.dispose();
  }
});
