import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

/** Columns in view order, after run_id, req_id, request_key, status. */
const COLUMNS = [
  "vllm_ttft_ms",
  "vllm_tpot_ms",
  "vllm_e2el_ms",
  "sglang_e2e_ms",
  "aiperf_itl_ms",
  "guidellm_tpot_ms",
  "distserve_ftl_ms",
  "distserve_tpot_ms",
  "inference_perf_ntpot_ms",
  "inference_perf_schedule_delay_ms",
];

function row(req_id: string, status: string, values: (number | null)[]) {
  return {
    req_id,
    status,
    ...Object.fromEntries(COLUMNS.map((c, i) => [c, values[i]])),
  };
}

Deno.test("anchor_request_metrics view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step("each tool's definition, worked out by hand", async () => {
      const rows = await fx.store.query(
        `select * exclude (run_id, request_key) from anchor_request_metrics order by req_id`,
      );
      assert.deepStrictEqual(rows, [
        // r1: sent 2, first byte 45, token 52, done 55, n 1
        row("r1", "ok", [43, null, 50, 53, null, 50, 50, null, 50, 2]),
        // r2: sent 10, first byte 38, tokens 40..100, done 105, n 5: vLLM TPOT (90 - 28) / 4
        row("r2", "ok", [28, 15.5, 90, 95, 15, 18, 30, 15, 18, 0]),
        // r3: error, nothing streamed
        row("r3", "error", [
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          1,
        ]),
        // r4: timeout, no first byte recorded, tokens 100 and 252 (n 2 counted)
        row("r4", "timeout", [
          null,
          null,
          222,
          null,
          152,
          111,
          70,
          152,
          111,
          0,
        ]),
        // r5: cancelled, one token at 90
        row("r5", "cancelled", [
          null,
          null,
          49,
          null,
          null,
          49,
          49,
          null,
          49,
          1,
        ]),
        // r6: sent 55, first byte 60, n 3 (streamed; usage says 4): vLLM TPOT (50 - 5) / 2,
        // done 110
        row("r6", "ok", [5, 22.5, 50, 55, 15, 50 / 3, 20, 15, 50 / 3, 5]),
      ]);
    });

    await t.step(
      "invariant: variants named the same as ours equal ours",
      async () => {
        const bad = await fx.store.query(
          `select a.req_id from anchor_request_metrics as a
           join request_metrics as m using (run_id, req_id)
           where a.vllm_e2el_ms is distinct from m.e2e_ms
              or a.sglang_e2e_ms is distinct from m.e2e_done_ms
              or a.aiperf_itl_ms is distinct from m.tpot_ms
              or a.distserve_ftl_ms is distinct from m.ttft_ms
              or a.guidellm_tpot_ms is distinct from m.normalized_latency_ms_per_token
              or a.inference_perf_schedule_delay_ms is distinct from m.schedule_lag_ms`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );

    await t.step(
      "invariant: vLLM's TTFT never exceeds ours when the first byte precedes the first token",
      async () => {
        const bad = await fx.store.query(
          `select a.req_id from anchor_request_metrics as a
           join request_metrics as m using (run_id, req_id)
           where a.vllm_ttft_ms > m.ttft_ms`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
