import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B, RUN_C, RUN_D } from "../_fixture.ts";

const POLICY = "errors_and_timeouts_count_as_missed;cancelled_excluded";

Deno.test("slo_attainment()", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C, RUN_D]);
  const attainment = async (call: string, runId = RUN_A.runId) => {
    const rows = await fx.store.query(
      `select n_counted, n_met, attainment, goodput_rps, token_goodput_tokens_per_s
       from ${call} where run_id = $1`,
      [runId],
    );
    return rows[0];
  };
  try {
    await t.step(
      "NULL bounds: one row per run, every completed request meets",
      async () => {
        const rows = await fx.store.query(
          `select * from slo_attainment(null, null, null) order by run_id`,
        );
        const bounds = {
          ttft_ms_max: null,
          tpot_ms_max: null,
          e2e_ms_max: null,
          itl_ms_max: null,
        };
        assert.deepStrictEqual(rows, [
          {
            // A: counted r1, r2, r3, r4, r6 (r5 cancelled); met r1, r2, r6
            run_id: RUN_A.runId,
            ...bounds,
            n_counted: 5n,
            n_met: 3n,
            n_excluded_cancelled: 1n,
            n_excluded_failed: 0n,
            n_outside_window: 0n,
            attainment: 0.6, // 3 / 5
            window_s: 0.25,
            met_output_tokens: 9n, // 1 + 5 + 3 (streamed; r6's usage says 4)
            goodput_rps: 12, // 3 / 0.25
            token_goodput_tokens_per_s: 36, // 9 / 0.25
            failure_policy: POLICY,
          },
          {
            run_id: RUN_B.runId,
            ...bounds,
            n_counted: 2n,
            n_met: 2n,
            n_excluded_cancelled: 0n,
            n_excluded_failed: 0n,
            n_outside_window: 0n,
            attainment: 1,
            window_s: 2.5,
            met_output_tokens: 9n,
            goodput_rps: 0.8, // 2 / 2.5
            token_goodput_tokens_per_s: 3.6, // 9 / 2.5
            failure_policy: POLICY,
          },
          {
            // C: c1 error and c3 timeout count as missed; c2 cancelled is excluded
            run_id: RUN_C.runId,
            ...bounds,
            n_counted: 2n,
            n_met: 0n,
            n_excluded_cancelled: 1n,
            n_excluded_failed: 0n,
            n_outside_window: 0n,
            attainment: 0,
            window_s: 0.03,
            met_output_tokens: 0n,
            goodput_rps: 0,
            token_goodput_tokens_per_s: 0,
            failure_policy: POLICY,
          },
          {
            // D: nothing counted: attainment NULL; no window: goodput NULL
            run_id: RUN_D.runId,
            ...bounds,
            n_counted: 0n,
            n_met: 0n,
            n_excluded_cancelled: 0n,
            n_excluded_failed: 0n,
            n_outside_window: 0n,
            attainment: null,
            window_s: null,
            met_output_tokens: 0n,
            goodput_rps: null,
            token_goodput_tokens_per_s: null,
            failure_policy: POLICY,
          },
        ]);
      },
    );

    await t.step("bounds are inclusive and echoed", async () => {
      const rows = await fx.store.query(
        `select ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max, n_met
         from slo_attainment(30, 15, 90) where run_id = $1`,
        [RUN_A.runId],
      );
      // r2 sits exactly on every bound (30, 15, 90) and meets; r6 (20, 15, 50) meets;
      // r1 (ttft 50) misses
      assert.deepStrictEqual(rows, [
        {
          ttft_ms_max: 30,
          tpot_ms_max: 15,
          e2e_ms_max: 90,
          itl_ms_max: null,
          n_met: 2n,
        },
      ]);
      assert.deepStrictEqual(
        await attainment("slo_attainment(50, null, null)"),
        {
          n_counted: 5n,
          n_met: 3n,
          attainment: 0.6,
          goodput_rps: 12,
          token_goodput_tokens_per_s: 36,
        },
      );
      assert.deepStrictEqual(
        await attainment("slo_attainment(49.999, null, null)"),
        {
          n_counted: 5n,
          n_met: 2n, // r2, r6
          attainment: 0.4,
          goodput_rps: 8,
          token_goodput_tokens_per_s: 32, // (5 + 3) / 0.25
        },
      );
    });

    await t.step("n < 2 passes the TPOT bound", async () => {
      // tpot 10: r1 (n = 1) passes, r2 (15) and r6 (15) miss
      assert.deepStrictEqual(
        await attainment("slo_attainment(null, 10, null)"),
        {
          n_counted: 5n,
          n_met: 1n,
          attainment: 0.2,
          goodput_rps: 4,
          token_goodput_tokens_per_s: 4, // 1 / 0.25
        },
      );
    });

    await t.step(
      "errors and timeouts count against, cancelled are excluded",
      async () => {
        // With bounds every request of run C would pass, still 0 of 2 counted meet.
        assert.deepStrictEqual(
          await attainment("slo_attainment(1000, 1000, 1000)", RUN_C.runId),
          {
            n_counted: 2n,
            n_met: 0n,
            attainment: 0,
            goodput_rps: 0,
            token_goodput_tokens_per_s: 0,
          },
        );
      },
    );

    await t.step("the optional ITL bound is passed by name", async () => {
      // max itl: r1 none (passes), r2 30, r6 30
      assert.deepStrictEqual(
        await attainment("slo_attainment(null, null, null, itl_ms_max := 29)"),
        {
          n_counted: 5n,
          n_met: 1n,
          attainment: 0.2,
          goodput_rps: 4,
          token_goodput_tokens_per_s: 4,
        },
      );
    });

    await t.step("two runs in one file are decided separately", async () => {
      // ttft 100: A's r1, r2, r6 meet (3 of 5); B's b1 (100) meets, b2 (500) misses
      assert.deepStrictEqual(
        await attainment("slo_attainment(100, null, null)", RUN_B.runId),
        {
          n_counted: 2n,
          n_met: 1n,
          attainment: 0.5,
          goodput_rps: 0.4,
          token_goodput_tokens_per_s: 1.6, // 4 / 2.5
        },
      );
    });

    const INVARIANTS: Record<string, string> = {
      "n_met <= n_counted and 0 <= attainment <= 1":
        `select * from slo_attainment(30, 15, 90)
         where n_met > n_counted or attainment < 0 or attainment > 1`,
      "goodput_rps <= request_throughput_rps":
        `select * from slo_attainment(null, null, null) as g
         join run_throughput as t on t.run_id = g.run_id
         where g.goodput_rps > t.request_throughput_rps
            or g.token_goodput_tokens_per_s > t.output_tokens_per_s`,
      "n_met agrees with request_slo":
        `select g.* from slo_attainment(30, 15, 90) as g
         where g.n_met <> (select count(*) from request_slo(30, 15, 90) as r
                           where r.run_id = g.run_id and r.meets_slo)`,
    };
    for (const [rule, sql] of Object.entries(INVARIANTS)) {
      await t.step(`invariant: ${rule}`, async () => {
        assert.deepStrictEqual(await fx.store.query(sql), []);
      });
    }
    await t.step(
      "the failure policy decides what counts, and is echoed",
      async () => {
        const rows = await fx.store.query(
          `select failure_policy, n_counted, n_met, n_excluded_cancelled, n_excluded_failed,
             attainment
           from slo_attainment(null, null, null, failure_policy := $1) where run_id = $2`,
          ["errors_and_timeouts_excluded;cancelled_excluded", RUN_A.runId],
        );
        // only r1, r2, r6 (completed) are judged; r3 error and r4 timeout are excluded
        assert.deepStrictEqual(rows, [{
          failure_policy: "errors_and_timeouts_excluded;cancelled_excluded",
          n_counted: 3n,
          n_met: 3n,
          n_excluded_cancelled: 1n,
          n_excluded_failed: 2n,
          attainment: 1,
        }]);
        const all = await fx.store.query(
          `select n_counted, n_met, n_excluded_cancelled, attainment
           from slo_attainment(null, null, null, failure_policy := $1) where run_id = $2`,
          ["all_failures_count_as_missed", RUN_A.runId],
        );
        // every request counts; r5 (cancelled) is missed too
        assert.deepStrictEqual(all, [{
          n_counted: 6n,
          n_met: 3n,
          n_excluded_cancelled: 0n,
          attainment: 0.5,
        }]);
      },
    );

    await t.step(
      "an unknown failure policy is an error naming it",
      async () => {
        await assert.rejects(
          () =>
            fx.store.query(
              `select * from slo_attainment(null, null, null, failure_policy := 'lenient')`,
            ),
          (e: Error) =>
            e.message.includes(
              'Unknown failure_policy "lenient": expected errors_and_timeouts_count_as_missed;' +
                "cancelled_excluded, errors_and_timeouts_excluded;cancelled_excluded or " +
                "all_failures_count_as_missed",
            ),
        );
      },
    );
  } finally {
    await fx.dispose();
  }
});
