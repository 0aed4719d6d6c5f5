import assert from "node:assert/strict";
import { createFixtureStore, ms, RUN_A } from "../_fixture.ts";

const A = RUN_A.runId;

Deno.test("token_bearing_events view", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step(
      "keeps chunks with >= 1 token in any channel, with the request's status",
      async () => {
        const rows = await fx.store.query(
          `select * exclude (request_key) from token_bearing_events order by run_id, req_id, seq`,
        );
        const row = (
          req_id: string,
          status: string,
          seq: number,
          t: number,
          n_tokens: number,
          channel = "content",
        ) => ({
          run_id: A,
          req_id,
          status,
          seq,
          t_ns: ms(t),
          n_tokens,
          channel,
        });
        assert.deepStrictEqual(rows, [
          row("r1", "ok", 0, 52, 1),
          row("r2", "ok", 0, 40, 1, "reasoning"),
          row("r2", "ok", 1, 60, 2),
          row("r2", "ok", 2, 70, 1),
          row("r2", "ok", 3, 100, 1),
          row("r4", "timeout", 0, 100, 1),
          row("r4", "timeout", 1, 252, 1),
          row("r5", "cancelled", 0, 90, 1),
          // r6's seq 0 carries 0 tokens: not token-bearing.
          row("r6", "ok", 1, 75, 2),
          row("r6", "ok", 2, 105, 1),
        ]);
      },
    );

    await t.step(
      "drops events of a request without a requests row",
      async () => {
        await fx.store.exec(
          `insert into token_events values ('${A}', 'orphan', 0, 1000000, 1, 'content')`,
        );
        const rows = await fx.store.query(
          `select count(*)::int as n from token_bearing_events where req_id = 'orphan'`,
        );
        assert.deepStrictEqual(rows, [{ n: 0 }]);
      },
    );

    await t.step(
      "invariant: request_key is the hash of the request's names",
      async () => {
        const bad = await fx.store.query(
          `select * from token_bearing_events where request_key <> hash(run_id, req_id)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );

    await t.step(
      "invariant: never a chunk with fewer than 1 token",
      async () => {
        const bad = await fx.store.query(
          `select * from token_bearing_events where n_tokens < 1`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
