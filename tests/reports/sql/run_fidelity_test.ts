import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, RUN_A, RUN_D } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

// Two requests of 4 one-token chunks: q0000's chunks arrive 10 ms apart, q0001's all at once
// (3 gaps of 0 ms): 3 of 6 gaps are 0 ms.
const COALESCED = generatedRun({
  runId: "coalesced",
  schedMs: [0, 100],
  ttftMs: [20, 20],
  tokens: 4,
});
COALESCED.requests[1].events = COALESCED.requests[1].events.map((
  [seq, , n],
) => [seq, 120, n]);
COALESCED.requests[1].doneMs = 120;

function check(
  check_order: number,
  check_name: string,
  value: number | null,
  unit: string,
  threshold: number | null,
  n: number,
  flagged: boolean | null,
) {
  return {
    check_order,
    check_name,
    value,
    unit,
    threshold,
    n: BigInt(n),
    flagged,
  };
}

Deno.test("run_fidelity view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_D, COALESCED]);
  const rowsOf = (runId: string) =>
    fx.store.query(
      `select * exclude (run_id) from run_fidelity where run_id = $1 order by check_order`,
      [runId],
    );
  try {
    await t.step("run A's checks, worked out by hand", async () => {
      assertRowsClose(await rowsOf(RUN_A.runId), [
        check(1, "run_status", 0, "count", 0, 1, false),
        // lags 2, 0, 1, 0, 1, 5 -> sorted 0 0 1 1 2 5; position 0.99 * 5 = 4.95 -> 2 + 0.95 * 3
        check(2, "schedule_lag_p99_ms", 4.85, "ms", 10, 6, false),
        // sent 5 intervals in 53 ms for 50 planned: |50 / 53 - 1| = 3 / 53 > 0.05
        check(3, "send_rate_deviation", 3 / 53, "fraction", 0.05, 6, true),
        // r1, r2 reported prompts equal to the plan (r6 reported none)
        check(4, "input_length_mismatch_share", 0, "fraction", 0.01, 2, false),
        // r6 streamed 3 of the 4 planned (its usage says 4; the stream is what counts)
        check(
          5,
          "output_length_mismatch_share",
          1 / 3,
          "fraction",
          0.01,
          3,
          true,
        ),
        // r6: usage 4, streamed 3
        check(
          6,
          "usage_vs_stream_mismatch_share",
          1 / 3,
          "fraction",
          0.01,
          3,
          true,
        ),
        // r3 error and r4 timeout of 6 sent
        check(7, "failed_share", 2 / 6, "fraction", 0.01, 6, true),
        // no server reported cached tokens: unknown, not 0
        check(8, "cached_prompt_share", null, "fraction", null, 2, null),
        check(9, "harness_floor_ttft_p50_ms", null, "ms", null, 0, null),
        // gaps of ok requests: r2 20, 10, 30 ms; r6 30 ms (its 0-token chunk is no chunk)
        check(10, "coalesced_chunk_share", 0, "fraction", 0.05, 4, false),
        // the fixture's backend states no steps in flight
        check(11, "steps_in_flight", null, "count", null, 0, null),
        // ok gaps: r2 20, 10, 30 ms; r6 30 ms (its 0-token chunk is not one): none under 1 ms
        check(12, "itl_burst_share", 0, "fraction", 0.25, 4, false),
        // the fixture records no workload: unknown
        check(13, "skipped_trace_rows", null, "count", 0, 0, null),
      ]);
    });

    await t.step(
      "chunks that arrive together flag coalesced_chunk_share",
      async () => {
        const rows = await rowsOf("coalesced");
        assertRowsClose(rows.filter((r) => r.check_order === 10), [
          check(10, "coalesced_chunk_share", 3 / 6, "fraction", 0.05, 6, true),
        ]);
      },
    );

    await t.step(
      "a closed-loop run has no planned rate: send_rate_deviation unknown, not flagged",
      async () => {
        // Run A's sends deviate 3 / 53 from its schedule (flagged above as an open loop).
        await fx.store.exec(
          `update runs set load_mode = 'closed' where run_id = $1`,
          [RUN_A.runId],
        );
        try {
          const rows = await rowsOf(RUN_A.runId);
          assertRowsClose(rows.filter((r) => r.check_order === 3), [
            check(3, "send_rate_deviation", null, "fraction", 0.05, 6, null),
          ]);
        } finally {
          await fx.store.exec(
            `update runs set load_mode = null where run_id = $1`,
            [RUN_A.runId],
          );
        }
      },
    );

    await t.step(
      "a run without requests: values and flags unknown",
      async () => {
        const rows = await rowsOf(RUN_D.runId);
        assert.deepStrictEqual(
          rows.map((r) => [r.check_name, r.value, r.flagged]),
          [
            ["run_status", 1, true], // still running
            ["schedule_lag_p99_ms", null, null],
            ["send_rate_deviation", null, null],
            ["input_length_mismatch_share", null, null],
            ["output_length_mismatch_share", null, null],
            ["usage_vs_stream_mismatch_share", null, null],
            ["failed_share", null, null],
            ["cached_prompt_share", null, null],
            ["harness_floor_ttft_p50_ms", null, null],
            ["coalesced_chunk_share", null, null],
            ["steps_in_flight", null, null],
            ["itl_burst_share", null, null],
            ["skipped_trace_rows", null, null],
          ],
        );
      },
    );

    await t.step(
      "invariant: flagged is NULL exactly when value or threshold is",
      async () => {
        const bad = await fx.store.query(
          `select * from run_fidelity
         where (flagged is null) <> (value is null or threshold is null)`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});
