import assert from "node:assert/strict";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

const SCHED = [0, 100, 200];
/** A run whose three requests all have the same TTFT (so p50 = p99 = that TTFT). */
const run = (runId: string, ttft: number) =>
  generatedRun({ runId, schedMs: SCHED, ttftMs: SCHED.map(() => ttft) });
const BASE = [run("b1", 100), run("b2", 110), run("b3", 121)]; // geometric mean 110
const CAND = [run("c1", 200), run("c2", 220), run("c3", 242)]; // geometric mean 220
const SINGLE = run("s1", 150);

const ids = (runs: { runId: string }[]) =>
  `[${runs.map((r) => `'${r.runId}'`).join(", ")}]`;

const COLUMNS =
  `runs_baseline, runs_candidate, n_baseline, n_candidate, baseline_value,
  candidate_value, delta_pct, ci_low_pct, ci_high_pct, significant, scale, df, t_quantile`;

/** Rounds every number of a row to 9 decimals, so hand-worked values compare exactly. */
function rounded(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map((
      [k, v],
    ) => [k, typeof v === "number" ? Math.round(v * 1e9) / 1e9 : v]),
  );
}

Deno.test("between_run_compare()", async (t) => {
  const fx = await createFixtureStore([...BASE, ...CAND, SINGLE]);
  const row = async (b: string, c: string, where: string, slo = "null") =>
    rounded(
      (await fx.store.query(
        `select ${COLUMNS} from between_run_compare(${b}, ${c}, ${slo}, null, null)
         where ${where}`,
      ))[0],
    );
  try {
    await t.step("groups of 3: Welch t interval on the log scale", async () => {
      // ln x has mean ln 110 and ln 220 and variance ln(1.1)^2 on each side: se^2 = 2 ln(1.1)^2 / 3,
      // Welch df = 4, t(0.975, 4) = 2.776
      const half = 2.776 * Math.log(1.1) * Math.sqrt(2 / 3);
      assert.deepStrictEqual(
        await row(
          ids(BASE),
          ids(CAND),
          "metric = 'ttft_ms' and statistic = 'p50'",
        ),
        rounded({
          runs_baseline: 3n,
          runs_candidate: 3n,
          n_baseline: 9n,
          n_candidate: 9n,
          baseline_value: 110,
          candidate_value: 220,
          delta_pct: 100,
          ci_low_pct: 100 * (2 * Math.exp(-half) - 1),
          ci_high_pct: 100 * (2 * Math.exp(half) - 1),
          significant: true,
          scale: "log_ratio",
          df: 4,
          t_quantile: 2.776,
        }),
      );
    });

    await t.step(
      "identical runs: no change and a zero-width interval",
      async () => {
        assert.deepStrictEqual(
          await row(
            ids(BASE),
            ids(CAND),
            "metric = 'tpot_ms' and statistic = 'p50'",
          ),
          rounded({
            runs_baseline: 3n,
            runs_candidate: 3n,
            n_baseline: 9n,
            n_candidate: 9n,
            baseline_value: 10,
            candidate_value: 10,
            delta_pct: 0,
            ci_low_pct: 0,
            ci_high_pct: 0,
            significant: false,
            scale: "log_ratio",
            df: 4,
            t_quantile: 2.776,
          }),
        );
      },
    );

    await t.step(
      "1 run against 3: the group's spread stands for both",
      async () => {
        // se^2 = ln(1.1)^2 (1 + 1/3), df = 2, t = 4.303
        const half = 4.303 * Math.log(1.1) * Math.sqrt(4 / 3);
        const d = Math.log(220 / 150);
        assert.deepStrictEqual(
          await row(ids([SINGLE]), ids(CAND), "row_order = 1"),
          rounded({
            runs_baseline: 1n,
            runs_candidate: 3n,
            n_baseline: 3n,
            n_candidate: 9n,
            baseline_value: 150,
            candidate_value: 220,
            delta_pct: 100 * (220 / 150 - 1),
            ci_low_pct: 100 * (Math.exp(d - half) - 1),
            ci_high_pct: 100 * (Math.exp(d + half) - 1),
            significant: false, // -8.7 % .. +135.5 %
            scale: "log_ratio",
            df: 2,
            t_quantile: 4.303,
          }),
        );
      },
    );

    await t.step("1 run against 1: no between-run interval", async () => {
      assert.deepStrictEqual(
        await row(ids([BASE[0]]), ids([CAND[0]]), "row_order = 1"),
        {
          runs_baseline: 1n,
          runs_candidate: 1n,
          n_baseline: 3n,
          n_candidate: 3n,
          baseline_value: 100,
          candidate_value: 200,
          delta_pct: 100,
          ci_low_pct: null,
          ci_high_pct: null,
          significant: null,
          scale: "log_ratio",
          df: null,
          t_quantile: null,
        },
      );
    });

    await t.step(
      "a goodput of 0: difference scale, the low end clamped at -100 %",
      async () => {
        // ttft <= 150: every baseline request meets it, no candidate request does. Baseline
        // run i has 3 met over first send 0 .. last completion 200 + ttft + 20 ms.
        const goodputs = [100, 110, 121].map((t) => 3 / ((200 + t + 20) / 1e3));
        const mean = goodputs.reduce((a, b) => a + b) / 3;
        const variance = goodputs.reduce((a, g) => a + (g - mean) ** 2, 0) / 2;
        // Welch with a zero-variance side: df = 2, t = 4.303
        const high = -mean + 4.303 * Math.sqrt(variance / 3);
        assert.deepStrictEqual(
          await row(ids(BASE), ids(CAND), "metric = 'goodput_rps'", "150"),
          rounded({
            runs_baseline: 3n,
            runs_candidate: 3n,
            n_baseline: 9n,
            n_candidate: 9n,
            baseline_value: mean,
            candidate_value: 0,
            delta_pct: -100,
            ci_low_pct: -100,
            ci_high_pct: 100 * high / mean,
            significant: true,
            scale: "difference",
            df: 2,
            t_quantile: 4.303,
          }),
        );
      },
    );

    await t.step("a side without runs gives NULL, not 0", async () => {
      const got = await fx.store.query(
        `select baseline_value, delta, ci_low, significant
         from between_run_compare(['nope'], ${ids(CAND)}, null, null, null)
         where row_order = 1`,
      );
      assert.deepStrictEqual(got, [{
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
