import assert from "node:assert/strict";
import { createFixtureStore, ms, RUN_A, RUN_B } from "../_fixture.ts";

const A = RUN_A.runId;
const B = RUN_B.runId;

function gap(
  run_id: string,
  req_id: string,
  status: string,
  _prev_seq: number,
  seq: number,
  prevMs: number,
  tMs: number,
  n_tokens: number,
  itl_ms: number,
  itl_per_token_ms: number,
) {
  return {
    run_id,
    req_id,
    status,
    seq,
    t_ns: ms(tMs),
    n_tokens,
    prev_t_ns: ms(prevMs),
    itl_ms,
    itl_per_token_ms,
  };
}

Deno.test("itl_gaps view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B]);
  try {
    await t.step(
      "one row per gap between consecutive token-bearing chunks",
      async () => {
        const rows = await fx.store.query(
          `select * exclude (request_key) from itl_gaps order by run_id, req_id, seq`,
        );
        assert.deepStrictEqual(rows, [
          // r2: reasoning@40 -> 2 tokens@60 -> @70 -> @100 (channels pooled)
          gap(A, "r2", "ok", 0, 1, 40, 60, 2, 20, 10),
          gap(A, "r2", "ok", 1, 2, 60, 70, 1, 10, 10),
          gap(A, "r2", "ok", 2, 3, 70, 100, 1, 30, 30),
          // r4 timed out but streamed two chunks: its gap is listed with its status
          gap(A, "r4", "timeout", 0, 1, 100, 252, 1, 152, 152),
          // r6: the 0-token chunk at seq 0 is skipped, the first gap is seq 1 -> 2
          gap(A, "r6", "ok", 1, 2, 75, 105, 1, 30, 30),
          gap(B, "b1", "ok", 0, 1, 100, 600, 1, 500, 500),
          gap(B, "b1", "ok", 1, 2, 600, 1100, 2, 500, 250),
          gap(B, "b2", "ok", 0, 1, 1500, 1900, 3, 400, 400 / 3),
          gap(B, "b2", "ok", 1, 2, 1900, 2100, 1, 200, 200),
        ]);
      },
    );

    await t.step(
      "a request with fewer than 2 token-bearing chunks has no gap",
      async () => {
        const rows = await fx.store.query(
          `select count(*)::int as n from itl_gaps where req_id in ('r1', 'r3', 'r5')`,
        );
        assert.deepStrictEqual(rows, [{ n: 0 }]);
      },
    );

    await t.step("invariant: gaps of a request sum to lt - ft", async () => {
      const bad = await fx.store.query(
        `select m.run_id, m.req_id
         from request_metrics as m
         join (select run_id, req_id, sum(itl_ms) as total_ms from itl_gaps group by all) as g
           on g.run_id = m.run_id and g.req_id = m.req_id
         where abs(g.total_ms - (m.last_token_ns - m.first_token_ns) / 1e6) > 1e-9`,
      );
      assert.deepStrictEqual(bad, []);
    });

    await t.step(
      "invariant: itl_per_token_ms * n_tokens = itl_ms",
      async () => {
        const bad = await fx.store.query(
          `select * from itl_gaps where abs(itl_per_token_ms * n_tokens - itl_ms) > 1e-9`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
