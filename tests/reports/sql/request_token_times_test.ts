import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("request_token_times view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step("run A's r2 and r6, worked out by hand", async () => {
      const rows = await fx.store.query(
        `select req_id, seq, channel, n_tokens, t_since_sent_ms, gap_ms
         from request_token_times where req_id in ('r2', 'r6') order by req_id, seq`,
      );
      const row = (
        req_id: string,
        seq: number,
        channel: string,
        n: number,
        t: number,
        gap: number | null,
      ) => ({
        req_id,
        seq,
        channel,
        n_tokens: n,
        t_since_sent_ms: t,
        gap_ms: gap,
      });
      assert.deepStrictEqual(rows, [
        // r2 sent at 10: reasoning at 40, content at 60, 70, 100
        row("r2", 0, "reasoning", 1, 30, null),
        row("r2", 1, "content", 2, 50, 20),
        row("r2", 2, "content", 1, 60, 10),
        row("r2", 3, "content", 1, 90, 30),
        // r6 sent at 55: its 0-token chunk (seq 0) is no chunk; tokens at 75 and 105
        row("r6", 1, "content", 2, 20, null),
        row("r6", 2, "content", 1, 50, 30),
      ]);
    });

    await t.step("invariant: the gaps are itl_gaps'", async () => {
      const bad = await fx.store.query(
        `select t.* from request_token_times as t
         left join itl_gaps as g on g.run_id = t.run_id and g.req_id = t.req_id and g.seq = t.seq
         where t.gap_ms is distinct from g.itl_ms`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
