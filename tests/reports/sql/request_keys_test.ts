import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B } from "../_fixture.ts";

Deno.test("request_keys view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B]);
  try {
    await t.step(
      "one row per request with its status and a unique key",
      async () => {
        const rows = await fx.store.query(
          `select req_id, status, n_same_key, request_key = hash(run_id, req_id) as hashed
         from request_keys order by run_id, req_id`,
        );
        const row = (req_id: string, status: string) => ({
          req_id,
          status,
          n_same_key: 1n,
          hashed: true,
        });
        assert.deepStrictEqual(rows, [
          row("r1", "ok"),
          row("r2", "ok"),
          row("r3", "error"),
          row("r4", "timeout"),
          row("r5", "cancelled"),
          row("r6", "ok"),
          row("b1", "ok"),
          row("b2", "ok"),
        ]);
      },
    );

    await t.step("invariant: keys are distinct", async () => {
      const bad = await fx.store.query(
        `select request_key from request_keys group by all having count(*) > 1`,
      );
      assert.deepStrictEqual(bad, []);
    });
  } finally {
    await fx.dispose();
  }
});
