import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B, RUN_C } from "../_fixture.ts";

Deno.test("run_errors view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C]);
  const rowsOf = (runId: string) =>
    fx.store.query(
      `select breakdown, rank, key, n, share_of_failed from run_errors where run_id = $1
       order by breakdown_order, rank`,
      [runId],
    );
  const row = (
    breakdown: string,
    rank: number,
    key: string,
    n: number,
    share: number,
  ) => ({
    breakdown,
    rank: BigInt(rank),
    key,
    n: BigInt(n),
    share_of_failed: share,
  });
  try {
    await t.step("run A: an HTTP 500 error and a timeout", async () => {
      // r3 error (HTTP 500, no error_kind recorded) and r4 timeout; r5 cancelled is no failure
      assert.deepStrictEqual(await rowsOf(RUN_A.runId), [
        row("error_kind", 1, "error", 1, 0.5),
        row("error_kind", 2, "timeout", 1, 0.5),
        row("http_status", 1, "HTTP 500", 1, 0.5),
        row("http_status", 2, "no HTTP status", 1, 0.5),
        row("message", 1, "HTTP 500: internal server error", 1, 0.5),
        row("message", 2, "timed out after 200 ms", 1, 0.5),
      ]);
    });

    await t.step(
      "run C: a message missing is '' and still counted",
      async () => {
        assert.deepStrictEqual(await rowsOf(RUN_C.runId), [
          row("error_kind", 1, "error", 1, 0.5),
          row("error_kind", 2, "timeout", 1, 0.5),
          row("http_status", 1, "HTTP 503", 1, 0.5),
          row("http_status", 2, "no HTTP status", 1, 0.5),
          row("message", 1, "", 1, 0.5),
          row("message", 2, "HTTP 503: overloaded", 1, 0.5),
        ]);
      },
    );

    await t.step("a run without failures has no row", async () => {
      assert.deepStrictEqual(await rowsOf(RUN_B.runId), []);
    });

    await t.step(
      "invariant: each breakdown's counts add up to the failed requests",
      async () => {
        const bad = await fx.store.query(
          `select e.run_id, e.breakdown, sum(e.n) as n, any_value(f.n) as failed
         from run_errors as e
         join (select run_id, count(*) as n from requests
               where status in ('error', 'timeout') group by run_id) as f using (run_id)
         group by e.run_id, e.breakdown having sum(e.n) <> any_value(f.n)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
