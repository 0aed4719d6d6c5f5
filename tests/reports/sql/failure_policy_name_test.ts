import assert from "node:assert/strict";
import { createFixtureStore } from "../_fixture.ts";

Deno.test("failure_policy_name()", async (t) => {
  const fx = await createFixtureStore([]);
  try {
    for (
      const name of [
        "errors_and_timeouts_count_as_missed;cancelled_excluded",
        "errors_and_timeouts_excluded;cancelled_excluded",
        "all_failures_count_as_missed",
      ]
    ) {
      await t.step(`returns ${name}`, async () => {
        assert.deepStrictEqual(
          await fx.store.query(`select failure_policy_name($1) as p`, [name]),
          [{ p: name }],
        );
      });
    }
    await t.step("refuses NULL, naming it", async () => {
      await assert.rejects(
        () => fx.store.query(`select failure_policy_name(null) as p`),
        (e: Error) =>
          e.message.includes('Unknown failure_policy "NULL": expected'),
      );
    });
  } finally {
    await fx.dispose();
  }
});
