// request_server_timings and run_server_latency_summary: fixed rows (RUN_A with server timings
// on two requests) with exact expected values, and their invariants.
import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("request_server_timings view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    // r2: sent 10, first token 40, last 100, 5 tokens: ttft 30 ms, tpot 15 ms (client).
    // r1: sent 2, one token at 52: ttft 50 ms, no tpot.
    await fx.store.exec(
      `update requests set server_prompt_tokens = 20, server_prompt_ms = 26.0,
         server_predicted_tokens = 5, server_predicted_ms = 48.0
       where req_id = 'r2'`,
    );
    await fx.store.exec(
      `update requests set server_prompt_tokens = 10, server_prompt_ms = 44.0,
         server_predicted_tokens = 1, server_predicted_ms = 0.0
       where req_id = 'r1'`,
    );
    await t.step("one row per request with server timings", async () => {
      const rows = await fx.store.query(
        `select * exclude (run_id) from request_server_timings order by req_id`,
      );
      assert.deepStrictEqual(rows, [
        {
          req_id: "r1",
          status: "ok",
          ttft_ms: 50,
          server_ttft_ms: 44,
          ttft_minus_server_ms: 6,
          tpot_ms: null,
          server_tpot_ms: null,
          tpot_minus_server_ms: null,
          server_prompt_tokens: 10,
          server_predicted_tokens: 1,
        },
        {
          req_id: "r2",
          status: "ok",
          ttft_ms: 30,
          server_ttft_ms: 26,
          ttft_minus_server_ms: 4,
          tpot_ms: 15,
          server_tpot_ms: 12,
          tpot_minus_server_ms: 3,
          server_prompt_tokens: 20,
          server_predicted_tokens: 5,
        },
      ]);
    });
    await t.step("run summary in the anchor rows' shape", async () => {
      const rows = await fx.store.query(
        `select tool, metric, n::int as n, p50_ms, max_ms from run_server_latency_summary
         order by metric_order`,
      );
      assert.deepStrictEqual(rows, [
        {
          tool: "server",
          metric: "server_ttft_ms",
          n: 2,
          p50_ms: 35,
          max_ms: 44,
        },
        {
          tool: "server",
          metric: "server_tpot_ms",
          n: 1,
          p50_ms: 12,
          max_ms: 12,
        },
        {
          tool: "server",
          metric: "ttft_minus_server_ms",
          n: 2,
          p50_ms: 5,
          max_ms: 6,
        },
        {
          tool: "server",
          metric: "tpot_minus_server_ms",
          n: 1,
          p50_ms: 3,
          max_ms: 3,
        },
      ]);
    });
    await t.step(
      "invariant: a difference is NULL exactly when a side is",
      async () => {
        const bad = await fx.store.query(
          `select req_id from request_server_timings
         where (ttft_minus_server_ms is null) <> (ttft_ms is null or server_ttft_ms is null)
            or (tpot_minus_server_ms is null) <> (tpot_ms is null or server_tpot_ms is null)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});

Deno.test("run_server_latency_summary view has no rows without server timings", async () => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    assert.deepStrictEqual(
      await fx.store.query("select * from run_server_latency_summary"),
      [],
    );
  } finally {
    await fx.dispose();
  }
});
