import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("request_export()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step(
      "one row per request with its metrics and SLO verdict",
      async () => {
        const rows = await fx.store.query(
          `select req_id, status, http_status, error, n_output_tokens, ttft_ms, tpot_ms, e2e_ms,
           schedule_lag_ms, counted, meets_slo
         from request_export(40, null, null) order by sent_ns, req_id`,
        );
        const row = (
          req_id: string,
          status: string,
          http: number | null,
          error: string | null,
          n: number,
          ttft: number | null,
          tpot: number | null,
          e2e: number | null,
          lag: number,
          counted: boolean,
          met: boolean | null,
        ) => ({
          req_id,
          status,
          http_status: http,
          error,
          n_output_tokens: n,
          ttft_ms: ttft,
          tpot_ms: tpot,
          e2e_ms: e2e,
          schedule_lag_ms: lag,
          counted,
          meets_slo: met,
        });
        assert.deepStrictEqual(rows, [
          row("r1", "ok", null, null, 1, 50, null, 50, 2, true, false), // TTFT 50 > 40
          row("r2", "ok", null, null, 5, 30, 15, 90, 0, true, true),
          row(
            "r3",
            "error",
            500,
            "HTTP 500: internal server error",
            0,
            null,
            null,
            null,
            1,
            true,
            false,
          ),
          row(
            "r4",
            "timeout",
            null,
            "timed out after 200 ms",
            2,
            70,
            152,
            222,
            0,
            true,
            false,
          ),
          row("r5", "cancelled", null, null, 1, 49, null, 49, 1, false, null),
          // r6: 3 tokens streamed (its usage says 4): TPOT (50 - 20) / 2
          row("r6", "ok", null, null, 3, 20, 15, 50, 5, true, true),
        ]);
      },
    );

    await t.step("invariant: the metrics are request_metrics'", async () => {
      const bad = await fx.store.query(
        `select e.req_id from request_export(null, null, null) as e
         join request_metrics as m using (run_id, req_id)
         where e.ttft_ms is distinct from m.ttft_ms or e.tpot_ms is distinct from m.tpot_ms
           or e.e2e_ms is distinct from m.e2e_ms`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
