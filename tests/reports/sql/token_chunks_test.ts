import assert from "node:assert/strict";
import { createFixtureStore, ms, RUN_A } from "../_fixture.ts";

Deno.test("token_chunks view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step(
      "every token-bearing chunk with the previous chunk's time",
      async () => {
        const rows = await fx.store.query(
          `select k.req_id, c.seq, c.t_ns, c.n_tokens, c.prev_t_ns
         from token_chunks as c join request_keys as k using (request_key)
         order by k.req_id, c.seq`,
        );
        const row = (
          req_id: string,
          seq: number,
          t: number,
          n: number,
          prev: number | null,
        ) => ({
          req_id,
          seq,
          t_ns: ms(t),
          n_tokens: n,
          prev_t_ns: prev === null ? null : ms(prev),
        });
        assert.deepStrictEqual(rows, [
          row("r1", 0, 52, 1, null),
          row("r2", 0, 40, 1, null),
          row("r2", 1, 60, 2, 40),
          row("r2", 2, 70, 1, 60),
          row("r2", 3, 100, 1, 70),
          row("r4", 0, 100, 1, null),
          row("r4", 1, 252, 1, 100),
          row("r5", 0, 90, 1, null),
          // r6's 0-token chunk at seq 0 is not token-bearing: seq 1 has no predecessor
          row("r6", 1, 75, 2, null),
          row("r6", 2, 105, 1, 75),
        ]);
      },
    );

    await t.step("invariant: same rows as token_bearing_events", async () => {
      const bad = await fx.store.query(
        `(select request_key, seq, t_ns, n_tokens from token_chunks
          except all select request_key, seq, t_ns, n_tokens from token_bearing_events)
         union all
         (select request_key, seq, t_ns, n_tokens from token_bearing_events
          except all select request_key, seq, t_ns, n_tokens from token_chunks)`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
