import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

const COLUMNS = [
  "input_tokens_planned",
  "input_tokens_reported",
  "input_drift_tokens",
  "output_tokens_planned",
  "n_output_tokens",
  "output_tokens_reported",
  "output_tokens_counted",
  "output_drift_tokens",
  "output_usage_drift_tokens",
];

function row(req_id: string, status: string, values: (number | null)[]) {
  return {
    req_id,
    status,
    ...Object.fromEntries(COLUMNS.map((c, i) => [c, values[i]])),
    cached_tokens: null,
    finish_reason: null,
  };
}

Deno.test("request_length_drift view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step("planned vs reported vs streamed, per request", async () => {
      const rows = await fx.store.query(
        `select * exclude (run_id) from request_length_drift order by req_id`,
      );
      assert.deepStrictEqual(rows, [
        row("r1", "ok", [10, 10, 0, 1, 1, 1, 1, 0, 0]),
        row("r2", "ok", [20, 20, 0, 5, 5, 5, 5, 0, 0]),
        // nothing streamed and no usage: produced 0 of 8
        row("r3", "error", [30, null, null, 8, 0, null, 0, -8, null]),
        row("r4", "timeout", [40, null, null, 8, 2, null, 2, -6, null]),
        row("r5", "cancelled", [50, null, null, 8, 1, null, 1, -7, null]),
        // usage says 4, the stream carried 3: n is the stream's 3 (output drift -1 from the
        // planned 4), usage drift +1; no prompt usage
        row("r6", "ok", [20, null, null, 4, 3, 4, 3, -1, 1]),
      ]);
    });

    await t.step(
      "invariant: a drift is NULL exactly when a side is unknown",
      async () => {
        const bad = await fx.store.query(
          `select * from request_length_drift
         where (input_drift_tokens is null) <> (input_tokens_reported is null)
            or (output_usage_drift_tokens is null) <> (output_tokens_reported is null)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
