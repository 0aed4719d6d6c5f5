import assert from "node:assert/strict";
import { createFixtureStore, RUN_A, RUN_B } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

// 200 requests each; the candidate's TTFTs are the baseline's times 1.5.
const N = 200;
const SCHED = Array.from({ length: N }, (_, i) => i * 50);
const BASE_TTFT = SCHED.map((_, i) => 40 + 2 * ((i * 37) % 21)); // even 40..80 ms
const SLOW = generatedRun({
  runId: "slow",
  schedMs: SCHED,
  ttftMs: BASE_TTFT.map((v) => v * 1.5),
});
const BASE = generatedRun({ runId: "base", schedMs: SCHED, ttftMs: BASE_TTFT });

const COLUMNS =
  `metric, statistic, n_baseline, n_candidate, baseline_value, candidate_value,
  delta, delta_pct`;

Deno.test("bootstrap_compare()", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, BASE, SLOW]);
  try {
    await t.step(
      "point estimates use every sample, worked out by hand",
      async () => {
        const rows = await fx.store.query(
          `select ${COLUMNS} from bootstrap_compare($1, $2, 100, null, null) order by row_order`,
          [RUN_A.runId, RUN_B.runId],
        );
        const r = (
          metric: string,
          statistic: string,
          nb: number,
          nc: number,
          b: number,
          c: number,
        ) => ({
          metric,
          statistic,
          n_baseline: BigInt(nb),
          n_candidate: BigInt(nc),
          baseline_value: b,
          candidate_value: c,
          delta: c - b,
          delta_pct: 100 * (c - b) / b,
        });
        const near = (
          got: Record<string, unknown>[],
          want: Record<string, unknown>[],
        ) => {
          assert.equal(got.length, want.length);
          got.forEach((g, i) => {
            for (const [k, v] of Object.entries(want[i])) {
              if (typeof v === "number") {
                assert.ok(
                  Math.abs((g[k] as number) - v) < 1e-9,
                  `${i} ${k}: ${g[k]} vs ${v}`,
                );
              } else assert.deepStrictEqual(g[k], v, `${i} ${k}`);
            }
          });
        };
        near(rows, [
          r("ttft_ms", "p50", 3, 2, 30, 300),
          r("ttft_ms", "p99", 3, 2, 49.6, 496),
          // A's TPOT: r2 15 and r6 15 (3 tokens streamed)
          r("tpot_ms", "p50", 2, 2, 15, (150 + 1000 / 3) / 2),
          r("tpot_ms", "p99", 2, 2, 15, 150 + 0.99 * (1000 / 3 - 150)),
          r("itl_ms", "p50", 4, 4, 25, 450),
          r("itl_ms", "p99", 4, 4, 30, 500),
          r("e2e_ms", "p50", 3, 2, 50, 1100),
          r("e2e_ms", "p99", 3, 2, 89.2, 1100),
          // goodput with ttft <= 100: A met r1, r2, r6 of 5 counted over 0.25 s = 12 req/s;
          // B met b1 (ttft 100) of 2 over 2.5 s = 0.4 req/s
          r("goodput_rps", "value", 5, 2, 12, 0.4),
        ]);
      },
    );

    await t.step(
      "a 50 % slower TTFT is significant and its interval excludes 0",
      async () => {
        const rows = await fx.store.query(
          `select statistic, delta_pct, ci_low_pct, ci_high_pct, significant, n_replicates
         from bootstrap_compare('base', 'slow', null, null, null) where metric = 'ttft_ms'
         order by row_order`,
        );
        for (const row of rows) {
          assert.ok(
            Math.abs((row.delta_pct as number) - 50) < 1e-9,
            String(row.statistic),
          );
          assert.equal(row.significant, true);
          assert.ok((row.ci_low_pct as number) > 0);
          assert.equal(row.n_replicates, 200n);
        }
      },
    );

    await t.step(
      "a run against itself changes nothing significantly",
      async () => {
        const rows = await fx.store.query(
          `select metric, statistic, delta, significant
         from bootstrap_compare('base', 'base', null, null, null) order by row_order`,
        );
        for (const row of rows) {
          assert.equal(row.delta, 0, `${row.statistic} ${row.metric}`);
          assert.notEqual(
            row.significant,
            true,
            `${row.statistic} ${row.metric}`,
          );
        }
      },
    );

    await t.step(
      "reproducible: the same seed gives the same interval",
      async () => {
        const q =
          `select ci_low, ci_high from bootstrap_compare('base', 'slow', null, null,
        null, seed := 7) order by row_order`;
        assert.deepStrictEqual(
          await fx.store.query(q),
          await fx.store.query(q),
        );
      },
    );

    await t.step("invariant: ci_low <= ci_high", async () => {
      const bad = await fx.store.query(
        `select * from bootstrap_compare('base', 'slow', 100, null, null)
         where ci_low > ci_high`,
      );
      assert.deepStrictEqual(bad, []);
    });

    await t.step("a side without samples gives NULL, not 0", async () => {
      const rows = await fx.store.query(
        `select baseline_value, delta, ci_low, significant
         from bootstrap_compare('nope', 'base', null, null, null) where row_order = 1`,
      );
      assert.deepStrictEqual(rows, [{
        baseline_value: null,
        delta: null,
        ci_low: null,
        significant: null,
      }]);
    });
  } finally {
    await fx.dispose();
  }
});
