import assert from "node:assert/strict";
import { createFixtureStore, ms, RUN_A, RUN_E } from "../_fixture.ts";

Deno.test("request_window view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_E]);
  const rowsOf = (runId: string) =>
    fx.store.query(
      `select req_id, status, reference_ns, in_window from request_window
       where run_id = $1 order by req_id`,
      [runId],
    );
  try {
    await t.step(
      "warm-up and cool-down leave out what ended in them",
      async () => {
        // window [100, 500] ms; a request is placed at its completion, else its send
        assert.deepStrictEqual(await rowsOf(RUN_E.runId), [
          {
            req_id: "e1",
            status: "ok",
            reference_ns: ms(60),
            in_window: false,
          },
          {
            req_id: "e2",
            status: "ok",
            reference_ns: ms(210),
            in_window: true,
          },
          {
            req_id: "e3",
            status: "ok",
            reference_ns: ms(400),
            in_window: true,
          },
          {
            req_id: "e4",
            status: "error",
            reference_ns: ms(250),
            in_window: true,
          },
          {
            req_id: "e5",
            status: "ok",
            reference_ns: ms(600),
            in_window: false,
          },
        ]);
      },
    );

    await t.step("without trims every request is in", async () => {
      // r3 (error) is placed at its send time 21; r4 (timeout) at its last token 252
      assert.deepStrictEqual(
        (await rowsOf(RUN_A.runId)).map((r) => [r.req_id, r.in_window]),
        [
          ["r1", true],
          ["r2", true],
          ["r3", true],
          ["r4", true],
          ["r5", true],
          ["r6", true],
        ],
      );
    });

    await t.step("trimmed summaries read only in-window requests", async () => {
      const [t1] = await fx.store.query(
        `select n_total, n_ok, n_error, n_outside_window, request_throughput_rps,
           output_tokens_per_s, max_output_tokens_per_s_1s_bin
         from run_throughput where run_id = $1`,
        [RUN_E.runId],
      );
      // e2, e3 ok and e4 error inside 0.4 s; 2 + 2 output tokens; tokens at 150, 200, 300, 400
      // (e5's 520 is past the window end) share the first 1 s bin
      assert.deepStrictEqual(t1, {
        n_total: 3n,
        n_ok: 2n,
        n_error: 1n,
        n_outside_window: 2n,
        request_throughput_rps: 5,
        output_tokens_per_s: 10,
        max_output_tokens_per_s_1s_bin: 4,
      });
      const ttft = await fx.store.query(
        `select n, p50_ms from run_latency_summary where run_id = $1 and metric = 'ttft_ms'`,
        [RUN_E.runId],
      );
      // e2 ttft 150 - 20 = 130, e3 300 - 100 = 200
      assert.deepStrictEqual(ttft, [{ n: 2n, p50_ms: 165 }]);
    });

    await t.step(
      "invariant: one row per request, in_window never NULL",
      async () => {
        const bad = await fx.store.query(
          `select r.run_id, r.req_id from requests as r
           left join request_window as w on w.run_id = r.run_id and w.req_id = r.req_id
           where w.in_window is null`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
