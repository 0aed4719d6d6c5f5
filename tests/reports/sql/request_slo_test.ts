import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

const A = RUN_A.runId;

/** [req_id, ttft_ok, tpot_ok, e2e_ok, itl_ok, counted, meets_slo] of run A's requests. */
type Decision = [
  string,
  boolean,
  boolean,
  boolean,
  boolean,
  boolean,
  boolean | null,
];

Deno.test("request_slo()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  const decide = async (call: string): Promise<Decision[]> => {
    const rows = await fx.store.query(
      `select req_id, ttft_ok, tpot_ok, e2e_ok, itl_ok, counted, meets_slo
       from ${call} where run_id = '${A}' order by req_id`,
    );
    return rows.map((r) => Object.values(r) as Decision);
  };
  try {
    await t.step(
      "no bounds: completed requests meet, errors and timeouts miss",
      async () => {
        assert.deepStrictEqual(await decide("request_slo(null, null, null)"), [
          ["r1", true, true, true, true, true, true],
          ["r2", true, true, true, true, true, true],
          ["r3", true, true, true, true, true, false], // error
          ["r4", true, true, true, true, true, false], // timeout
          ["r5", true, true, true, true, false, null], // cancelled: excluded
          ["r6", true, true, true, true, true, true],
        ]);
      },
    );

    await t.step("bounds are inclusive", async () => {
      // ttft: r1 50, r2 30, r4 70, r5 49, r6 20; r3 has none
      assert.deepStrictEqual(await decide("request_slo(50, null, null)"), [
        ["r1", true, true, true, true, true, true],
        ["r2", true, true, true, true, true, true],
        ["r3", false, true, true, true, true, false],
        ["r4", false, true, true, true, true, false],
        ["r5", true, true, true, true, false, null],
        ["r6", true, true, true, true, true, true],
      ]);
      assert.deepStrictEqual(
        (await decide("request_slo(49.999, null, null)")).map((d) => d[1]),
        [false, true, false, false, true, true], // r5's 49 is within; it stays excluded
      );
    });

    await t.step("n < 2 passes the TPOT bound", async () => {
      // tpot: r1 n = 1, r2 15, r3 n = 0, r4 152, r5 n = 1, r6 15 (n = 3 streamed)
      assert.deepStrictEqual(
        (await decide("request_slo(null, 10, null)")).map((
          d,
        ) => [d[0], d[2], d[6]]),
        [
          ["r1", true, true],
          ["r2", false, false],
          ["r3", true, false],
          ["r4", false, false],
          ["r5", true, null],
          ["r6", false, false],
        ],
      );
    });

    await t.step(
      "a bound on a missing value fails it (no token, no TTFT or E2E)",
      async () => {
        const [r3] =
          (await decide("request_slo(1000, 1000, 1000, itl_ms_max := 1000)"))
            .filter((d) => d[0] === "r3");
        assert.deepStrictEqual(r3, [
          "r3",
          false,
          true,
          false,
          true,
          true,
          false,
        ]);
      },
    );

    await t.step(
      "errored and timed-out requests miss even within every bound",
      async () => {
        // r4 (timeout): ttft 70, tpot 152, e2e 222, max itl 152 all within 1000
        const [r4] =
          (await decide("request_slo(1000, 1000, 1000, itl_ms_max := 1000)"))
            .filter((d) => d[0] === "r4");
        assert.deepStrictEqual(r4, ["r4", true, true, true, true, true, false]);
      },
    );

    await t.step(
      "the ITL bound is on the largest gap; fewer than 2 chunks pass",
      async () => {
        // max itl: r1 none (1 chunk), r2 30, r6 30
        assert.deepStrictEqual(
          (await decide("request_slo(null, null, null, itl_ms_max := 29)"))
            .filter((d) => ["r1", "r2", "r6"].includes(d[0]))
            .map((d) => [d[0], d[4], d[6]]),
          [["r1", true, true], ["r2", false, false], ["r6", false, false]],
        );
      },
    );

    await t.step("e2e bound", async () => {
      // e2e: r1 50, r2 90, r6 50
      assert.deepStrictEqual(
        (await decide("request_slo(null, null, 50)"))
          .filter((d) => ["r1", "r2", "r6"].includes(d[0]))
          .map((d) => [d[0], d[3], d[6]]),
        [["r1", true, true], ["r2", false, false], ["r6", true, true]],
      );
    });

    await t.step(
      "failure policy errors_and_timeouts_excluded: only completed requests count",
      async () => {
        assert.deepStrictEqual(
          await decide(
            "request_slo(null, null, null, failure_policy := 'errors_and_timeouts_excluded;cancelled_excluded')",
          ),
          [
            ["r1", true, true, true, true, true, true],
            ["r2", true, true, true, true, true, true],
            ["r3", true, true, true, true, false, null],
            ["r4", true, true, true, true, false, null],
            ["r5", true, true, true, true, false, null],
            ["r6", true, true, true, true, true, true],
          ],
        );
      },
    );

    await t.step(
      "failure policy all_failures_count_as_missed: cancelled requests miss too",
      async () => {
        assert.deepStrictEqual(
          (await decide(
            "request_slo(null, null, null, failure_policy := 'all_failures_count_as_missed')",
          )).map((d) => [d[0], d[5], d[6]]),
          [
            ["r1", true, true],
            ["r2", true, true],
            ["r3", true, false],
            ["r4", true, false],
            ["r5", true, false],
            ["r6", true, true],
          ],
        );
      },
    );

    await t.step(
      "invariant: meets_slo only for completed requests",
      async () => {
        const bad = await fx.store.query(
          `select * from request_slo(1000, 1000, 1000) where meets_slo and status <> 'ok'`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
