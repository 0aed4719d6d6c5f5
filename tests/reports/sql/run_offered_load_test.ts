import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, ms, RUN_A, RUN_B, RUN_D } from "../_fixture.ts";

Deno.test("run_offered_load view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_D]);
  try {
    await t.step(
      "requested and achieved rates, worked out by hand",
      async () => {
        const rows = await fx.store.query(
          `select * from run_offered_load order by run_id`,
        );
        assertRowsClose(rows, [
          {
            // A: scheduled 0..50 ms, 6 requests: 5 intervals in 0.05 s; sent 2..55: 5 in 0.053 s
            run_id: RUN_A.runId,
            n_scheduled: 6n,
            n_sent: 6n,
            first_scheduled_ns: ms(0),
            last_scheduled_ns: ms(50),
            first_sent_ns: ms(2),
            last_sent_ns: ms(55),
            offered_rps: 100,
            achieved_send_rps: 5 / 0.053,
            send_rate_ratio: 50 / 53,
          },
          {
            // B: two requests 1 s apart, sent on time
            run_id: RUN_B.runId,
            n_scheduled: 2n,
            n_sent: 2n,
            first_scheduled_ns: ms(0),
            last_scheduled_ns: ms(1000),
            first_sent_ns: ms(0),
            last_sent_ns: ms(1000),
            offered_rps: 1,
            achieved_send_rps: 1,
            send_rate_ratio: 1,
          },
          {
            // D: no request: no rate (NULL, not 0)
            run_id: RUN_D.runId,
            n_scheduled: 0n,
            n_sent: 0n,
            first_scheduled_ns: null,
            last_scheduled_ns: null,
            first_sent_ns: null,
            last_sent_ns: null,
            offered_rps: null,
            achieved_send_rps: null,
            send_rate_ratio: null,
          },
        ]);
      },
    );

    await t.step("invariant: rates are positive or NULL", async () => {
      const bad = await fx.store.query(
        `select * from run_offered_load where offered_rps <= 0 or achieved_send_rps <= 0`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
