import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, RUN_A, RUN_B, RUN_C, RUN_D } from "../_fixture.ts";

const METRICS = [
  "ttft_ms",
  "ttft_incl_queue_ms",
  "tpot_ms",
  "itl_ms",
  "itl_per_token_ms",
  "e2e_ms",
  "normalized_latency_ms_per_token",
  "schedule_lag_ms",
];

/** quantile_cont by hand: linear interpolation at position q * (n - 1) of the sorted sample. */
function row(
  run_id: string,
  metric: string,
  sorted: number[],
  stats: {
    mean: number;
    p50: number;
    p90: number;
    p95: number;
    p99: number;
    p999: number;
  },
) {
  return {
    run_id,
    metric,
    metric_order: METRICS.indexOf(metric) + 1,
    n: BigInt(sorted.length),
    mean_ms: stats.mean,
    p50_ms: stats.p50,
    p90_ms: stats.p90,
    p95_ms: stats.p95,
    p99_ms: stats.p99,
    p999_ms: stats.p999,
    max_ms: sorted[sorted.length - 1],
    percentile_method: "quantile_cont",
  };
}

function emptyRow(run_id: string, metric: string) {
  return {
    run_id,
    metric,
    metric_order: METRICS.indexOf(metric) + 1,
    n: 0n,
    mean_ms: null,
    p50_ms: null,
    p90_ms: null,
    p95_ms: null,
    p99_ms: null,
    p999_ms: null,
    max_ms: null,
    percentile_method: "quantile_cont",
  };
}

const A = RUN_A.runId;
const B = RUN_B.runId;

// Run A, completed requests r1, r2, r6 only (r3 error, r4 timeout, r5 cancelled excluded).
// With 3 samples, position q * 2: p90 -> 1.8, p95 -> 1.9, p99 -> 1.98, p999 -> 1.998, so
// p = s[1] + frac * (s[2] - s[1]) with frac 0.8, 0.9, 0.98, 0.998.
const EXPECTED_A = [
  // ttft: r1 50, r2 30, r6 20
  row(A, "ttft_ms", [20, 30, 50], {
    mean: 100 / 3,
    p50: 30,
    p90: 46, // 30 + 0.8 * 20
    p95: 48, // 30 + 0.9 * 20
    p99: 49.6, // 30 + 0.98 * 20
    p999: 49.96, // 30 + 0.998 * 20
  }),
  // ttft incl. queue: r1 52, r2 30, r6 25
  row(A, "ttft_incl_queue_ms", [25, 30, 52], {
    mean: 107 / 3,
    p50: 30,
    p90: 47.6, // 30 + 0.8 * 22
    p95: 49.8,
    p99: 51.56,
    p999: 51.956,
  }),
  // tpot: r2 15, r6 (105 - 75) / (3 streamed - 1) = 15 (r1 has n = 1): 2 samples
  row(A, "tpot_ms", [15, 15], {
    mean: 15,
    p50: 15,
    p90: 15,
    p95: 15,
    p99: 15,
    p999: 15,
  }),
  // itl: r2 gaps 20, 10, 30 and r6 gap 30 pooled (r4's 152 is a timeout): position q * 3
  row(A, "itl_ms", [10, 20, 30, 30], {
    mean: 22.5,
    p50: 25, // position 1.5: 20 + 0.5 * 10
    p90: 30, // position 2.7: between 30 and 30
    p95: 30,
    p99: 30,
    p999: 30,
  }),
  // itl per token: r2 20 / 2 (the chunk at 60 has 2 tokens), 10, 30; r6 30 -> 10, 10, 30, 30
  row(A, "itl_per_token_ms", [10, 10, 30, 30], {
    mean: 20,
    p50: 20, // position 1.5: 10 + 0.5 * 20
    p90: 30,
    p95: 30,
    p99: 30,
    p999: 30,
  }),
  // e2e: r1 50, r2 90, r6 50
  row(A, "e2e_ms", [50, 50, 90], {
    mean: 190 / 3,
    p50: 50,
    p90: 82, // 50 + 0.8 * 40
    p95: 86,
    p99: 89.2,
    p999: 89.92,
  }),
  // normalized (lt - sent) / n: r1 50 / 1, r2 90 / 5 = 18, r6 50 / 3 (streamed, not usage 4)
  row(A, "normalized_latency_ms_per_token", [50 / 3, 18, 50], {
    mean: (50 / 3 + 68) / 3,
    p50: 18,
    p90: 43.6, // 18 + 0.8 * 32
    p95: 46.8,
    p99: 49.36,
    p999: 49.936,
  }),
  // schedule lag: r1 2, r2 0, r6 5
  row(A, "schedule_lag_ms", [0, 2, 5], {
    mean: 7 / 3,
    p50: 2,
    p90: 4.4, // 2 + 0.8 * 3
    p95: 4.7,
    p99: 4.94,
    p999: 4.994,
  }),
];

// Run B: b1 and b2, 2 samples each (position q), 4 ITL gaps (position 3q).
const TPOT_B1 = 1000 / 3;
const EXPECTED_B = [
  row(B, "ttft_ms", [100, 500], {
    mean: 300,
    p50: 300,
    p90: 460,
    p95: 480,
    p99: 496,
    p999: 499.6,
  }),
  row(B, "ttft_incl_queue_ms", [100, 500], {
    mean: 300,
    p50: 300,
    p90: 460,
    p95: 480,
    p99: 496,
    p999: 499.6,
  }),
  row(B, "tpot_ms", [150, TPOT_B1], {
    mean: (150 + TPOT_B1) / 2,
    p50: (150 + TPOT_B1) / 2,
    p90: 150 + 0.9 * (TPOT_B1 - 150),
    p95: 150 + 0.95 * (TPOT_B1 - 150),
    p99: 150 + 0.99 * (TPOT_B1 - 150),
    p999: 150 + 0.999 * (TPOT_B1 - 150),
  }),
  // gaps 500, 500 (b1), 400, 200 (b2) -> sorted 200, 400, 500, 500
  row(B, "itl_ms", [200, 400, 500, 500], {
    mean: 400,
    p50: 450,
    p90: 500,
    p95: 500,
    p99: 500,
    p999: 500,
  }),
  // per token: b1 500 / 1, 500 / 2; b2 400 / 3, 200 / 1 -> 133.3, 200, 250, 500
  row(B, "itl_per_token_ms", [400 / 3, 200, 250, 500], {
    mean: (400 / 3 + 950) / 4,
    p50: 225, // position 1.5
    p90: 425, // position 2.7: 250 + 0.7 * 250
    p95: 462.5,
    p99: 492.5,
    p999: 499.25,
  }),
  row(B, "e2e_ms", [1100, 1100], {
    mean: 1100,
    p50: 1100,
    p90: 1100,
    p95: 1100,
    p99: 1100,
    p999: 1100,
  }),
  // normalized: b1 1100 / 4 = 275, b2 1100 / 5 = 220
  row(B, "normalized_latency_ms_per_token", [220, 275], {
    mean: 247.5,
    p50: 247.5,
    p90: 269.5,
    p95: 272.25,
    p99: 274.45,
    p999: 274.945,
  }),
  row(B, "schedule_lag_ms", [0, 0], {
    mean: 0,
    p50: 0,
    p90: 0,
    p95: 0,
    p99: 0,
    p999: 0,
  }),
];

const INVARIANTS: Record<string, string> = {
  "p50 <= p90 <= p95 <= p99 <= p999 <= max": `select * from run_latency_summary
     where not (p50_ms <= p90_ms and p90_ms <= p95_ms and p95_ms <= p99_ms
                and p99_ms <= p999_ms and p999_ms <= max_ms)`,
  "mean <= max": `select * from run_latency_summary where mean_ms > max_ms`,
  "n = 0 exactly when every statistic is NULL":
    `select * from run_latency_summary
     where (n = 0) <> (mean_ms is null) or (n = 0) <> (p50_ms is null)
        or (n = 0) <> (max_ms is null)`,
  "eight rows per run":
    `select r.run_id from runs as r left join run_latency_summary as s on s.run_id = r.run_id
     group by r.run_id having count(s.metric) <> 8`,
  "ttft n = completed requests with a TTFT":
    `select s.* from run_latency_summary as s
     where s.metric = 'ttft_ms' and s.n <> (
       select count(ttft_ms) from request_metrics as m
       where m.run_id = s.run_id and m.status = 'ok')`,
  "itl n = gaps of completed requests":
    `select s.* from run_latency_summary as s
     where s.metric = 'itl_ms' and s.n <> (
       select count(*) from itl_gaps as g where g.run_id = s.run_id and g.status = 'ok')`,
};

Deno.test("run_latency_summary view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C, RUN_D]);
  const rowsOf = (runId: string) =>
    fx.store.query(
      `select * from run_latency_summary where run_id = $1 order by metric_order`,
      [runId],
    );
  try {
    await t.step(
      "completed requests only, values worked out by hand",
      async () => {
        assertRowsClose(await rowsOf(A), EXPECTED_A);
      },
    );

    await t.step(
      "a second run in the same file keeps its own samples",
      async () => {
        assertRowsClose(await rowsOf(B), EXPECTED_B);
      },
    );

    await t.step(
      "a run without completed requests: n = 0 and NULL statistics",
      async () => {
        assert.deepStrictEqual(
          await rowsOf(RUN_C.runId),
          METRICS.map((m) => emptyRow(RUN_C.runId, m)),
        );
      },
    );

    await t.step(
      "a run without requests: n = 0 and NULL statistics",
      async () => {
        assert.deepStrictEqual(
          await rowsOf(RUN_D.runId),
          METRICS.map((m) => emptyRow(RUN_D.runId, m)),
        );
      },
    );

    for (const [rule, sql] of Object.entries(INVARIANTS)) {
      await t.step(`invariant: ${rule}`, async () => {
        assert.deepStrictEqual(await fx.store.query(sql), []);
      });
    }
  } finally {
    await fx.dispose();
  }
});
