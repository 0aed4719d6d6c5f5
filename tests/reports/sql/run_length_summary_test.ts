import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, RUN_A, RUN_D } from "../_fixture.ts";

Deno.test("run_length_summary view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_D]);
  const rowsOf = (runId: string) =>
    fx.store.query(
      `select metric, n, mean_tokens, p50_tokens, p90_tokens, p99_tokens, min_tokens,
         max_tokens, total_tokens
       from run_length_summary where run_id = $1 order by metric_order`,
      [runId],
    );
  const row = (
    metric: string,
    values: number[],
    q: [number, number, number],
  ) => ({
    metric,
    n: BigInt(values.length),
    mean_tokens: values.reduce((a, b) => a + b) / values.length,
    p50_tokens: q[0],
    p90_tokens: q[1],
    p99_tokens: q[2],
    min_tokens: Math.min(...values),
    max_tokens: Math.max(...values),
    total_tokens: BigInt(values.reduce((a, b) => a + b)),
  });
  try {
    await t.step("run A, worked out by hand", async () => {
      // sent: r1..r6 planned inputs 10 20 30 40 50 20, outputs 1 5 8 8 8 4;
      // completed r1, r2, r6: inputs 10, 20 (usage) and 20 (planned: no usage); outputs 1, 5
      // (usage) and 4 (usage)
      assertRowsClose(await rowsOf(RUN_A.runId), [
        // sorted 10 20 20 30 40 50: p50 at 2.5 -> 25; p90 at 4.5 -> 45; p99 at 4.95 -> 49.5
        row("input_tokens_planned", [10, 20, 30, 40, 50, 20], [25, 45, 49.5]),
        // 10 20 20: p50 20; p90 at 1.8 -> 20; p99 20
        row("input_tokens", [10, 20, 20], [20, 20, 20]),
        // 1 4 5 8 8 8: p50 6.5; p90 8; p99 8
        row("output_tokens_planned", [1, 5, 8, 8, 8, 4], [6.5, 8, 8]),
        // streamed (r6: 3; its usage says 4): 1 3 5: p50 3; p90 at 1.8 -> 4.6; p99 at 1.98 -> 4.96
        row("output_tokens", [1, 5, 3], [3, 4.6, 4.96]),
      ]);
    });

    await t.step(
      "a run without requests: n 0 and NULL statistics",
      async () => {
        const rows = await rowsOf(RUN_D.runId);
        assert.deepStrictEqual(
          rows.map((r) => [r.metric, r.n, r.mean_tokens, r.total_tokens]),
          [
            ["input_tokens_planned", 0n, null, null],
            ["input_tokens", 0n, null, null],
            ["output_tokens_planned", 0n, null, null],
            ["output_tokens", 0n, null, null],
          ],
        );
      },
    );

    await t.step("invariant: min <= p50 <= p99 <= max", async () => {
      const bad = await fx.store.query(
        `select * from run_length_summary
         where not (min_tokens <= p50_tokens and p50_tokens <= p99_tokens
           and p99_tokens <= max_tokens)`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
