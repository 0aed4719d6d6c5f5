import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore, insertRun } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

// Sweep s1 at 1, 2 and 4 req/s (two requests 1000, 500, 250 ms apart); with a TTFT bound of
// 100 ms its attainment falls 1 -> 0.5 -> 0. Sweep s2 meets everywhere.
const s1 = (value: number) => ({ id: "s1", axis: "rate" as const, value });
const RUNS = [
  generatedRun({
    runId: "p1",
    schedMs: [0, 1000],
    ttftMs: [50, 50],
    sweep: s1(1),
  }),
  generatedRun({
    runId: "p2",
    schedMs: [0, 500],
    ttftMs: [50, 150],
    sweep: s1(2),
  }),
  generatedRun({
    runId: "p4",
    schedMs: [0, 250],
    ttftMs: [150, 150],
    sweep: s1(4),
  }),
  generatedRun({
    runId: "q1",
    schedMs: [0, 1000],
    ttftMs: [50, 50],
    sweep: { id: "s2", axis: "speedup", value: 1 },
  }),
  generatedRun({
    runId: "q2",
    schedMs: [0, 500],
    ttftMs: [50, 50],
    sweep: { id: "s2", axis: "speedup", value: 2 },
  }),
  generatedRun({ runId: "lone", schedMs: [0, 100], ttftMs: [50, 50] }),
];

Deno.test("sweep_attainment()", async (t) => {
  const fx = await createFixtureStore(RUNS);
  try {
    await t.step("one row per sweep point, by offered rate", async () => {
      const rows = await fx.store.query(
        `select sweep_id, run_id, sweep_axis, sweep_value, offered_rps, point_order, n_counted,
           n_met, attainment
         from sweep_attainment(100, null, null) order by sweep_id, point_order`,
      );
      const p = (
        sweep_id: string,
        run_id: string,
        axis: string,
        value: number,
        rps: number,
        order: number,
        met: number,
      ) => ({
        sweep_id,
        run_id,
        sweep_axis: axis,
        sweep_value: value,
        offered_rps: rps,
        point_order: BigInt(order),
        n_counted: 2n,
        n_met: BigInt(met),
        attainment: met / 2,
      });
      assertRowsClose(rows, [
        p("s1", "p1", "rate", 1, 1, 1, 2),
        p("s1", "p2", "rate", 2, 2, 2, 1),
        p("s1", "p4", "rate", 4, 4, 3, 0),
        p("s2", "q1", "speedup", 1, 1, 1, 2),
        p("s2", "q2", "speedup", 2, 2, 2, 2),
      ]);
    });

    await t.step("each point carries its latency percentiles", async () => {
      // p2: TTFTs 50 and 150 -> p50 100, p99 149; 3 tokens 10 ms apart: TPOT 10, E2E 70 / 170
      const rows = await fx.store.query(
        `select ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms, e2e_p50_ms, e2e_p99_ms
         from sweep_attainment(100, null, null) where run_id = 'p2'`,
      );
      assertRowsClose(rows, [{
        ttft_p50_ms: 100,
        ttft_p99_ms: 149,
        tpot_p50_ms: 10,
        tpot_p99_ms: 10,
        e2e_p50_ms: 120,
        e2e_p99_ms: 169,
      }]);
    });

    await t.step(
      "a concurrency sweep is placed by achieved throughput",
      async () => {
        const c = (value: number) => ({
          id: "s3",
          axis: "concurrency" as const,
          value,
        });
        // same schedule; c1 ends at 1070 ms (2 / 1.07 s), c2 at 1920 ms (2 / 1.92 s)
        await insertRun(
          fx.store,
          generatedRun({
            runId: "c1",
            schedMs: [0, 1000],
            ttftMs: [50, 50],
            sweep: c(4),
          }),
        );
        await insertRun(
          fx.store,
          generatedRun({
            runId: "c2",
            schedMs: [0, 1000],
            ttftMs: [500, 900],
            sweep: c(1),
          }),
        );
        const rows = await fx.store.query(
          `select run_id, offered_rps, load_rps, request_throughput_rps, point_order
           from sweep_attainment(null, null, null) where sweep_id = 's3' order by point_order`,
        );
        assertRowsClose(rows, [
          {
            run_id: "c2",
            offered_rps: 1,
            load_rps: 2 / 1.92,
            request_throughput_rps: 2 / 1.92,
            point_order: 1n,
          },
          {
            run_id: "c1",
            offered_rps: 1,
            load_rps: 2 / 1.07,
            request_throughput_rps: 2 / 1.07,
            point_order: 2n,
          },
        ]);
      },
    );

    await t.step(
      "invariant: goodput_rps <= request_throughput_rps",
      async () => {
        const bad = await fx.store.query(
          `select * from sweep_attainment(100, null, null)
         where goodput_rps > request_throughput_rps`,
        );
        assert.deepStrictEqual(bad, []);
      },
    );
  } finally {
    await fx.dispose();
  }
});

Deno.test("sweep_capacity()", async (t) => {
  const fx = await createFixtureStore(RUNS);
  const capacity = (target: number, extra = "") =>
    fx.store.query(
      `select * from sweep_capacity(${target}, 100, null, null${extra}) order by sweep_id`,
    );
  try {
    await t.step(
      "interpolates between the bracketing points (90 %: 1 + 0.1 / 0.5 * 1)",
      async () => {
        assertRowsClose(await capacity(0.9), [
          {
            sweep_id: "s1",
            target_attainment: 0.9,
            n_points: 3n,
            capacity_rps: 1.2,
            capacity_rps_per_gpu: 1.2,
            gpus: 1,
            capacity_bound: "interpolated",
            lower_load_rps: 1,
            lower_attainment: 1,
            upper_load_rps: 2,
            upper_attainment: 0.5,
          },
          {
            // never below 90 %: a lower bound at the highest rate measured
            sweep_id: "s2",
            target_attainment: 0.9,
            n_points: 2n,
            capacity_rps: 2,
            capacity_rps_per_gpu: 2,
            gpus: 1,
            capacity_bound: "at_least_highest_rate",
            lower_load_rps: null,
            lower_attainment: null,
            upper_load_rps: null,
            upper_attainment: null,
          },
        ]);
      },
    );

    await t.step(
      "a lower target brackets later points (40 %: 2 + 0.1 / 0.5 * 2)",
      async () => {
        const [s1row] = await capacity(0.4);
        assert.equal(s1row.capacity_bound, "interpolated");
        assert.ok(Math.abs((s1row.capacity_rps as number) - 2.4) < 1e-12);
      },
    );

    await t.step(
      "a target met exactly at a point gives that point's rate",
      async () => {
        const [s1row] = await capacity(0.5);
        // 0.5 is not below 0.5: the first miss is p4 (0), so the bracket is p2 (0.5) -> p4
        assert.ok(Math.abs((s1row.capacity_rps as number) - 2) < 1e-12);
      },
    );

    await t.step(
      "the lowest rate already missing gives no capacity",
      async () => {
        const rows = await fx.store.query(
          `select sweep_id, capacity_rps, capacity_bound from sweep_capacity(0.9, 10, null, null)
         order by sweep_id`,
        );
        assert.deepStrictEqual(rows, [
          {
            sweep_id: "s1",
            capacity_rps: null,
            capacity_bound: "below_lowest_rate",
          },
          {
            sweep_id: "s2",
            capacity_rps: null,
            capacity_bound: "below_lowest_rate",
          },
        ]);
      },
    );

    await t.step("per-GPU normalization divides by gpus", async () => {
      const [s1row] = await capacity(0.9, ", gpus := 2");
      assert.equal(s1row.gpus, 2);
      assert.ok(Math.abs((s1row.capacity_rps_per_gpu as number) - 0.6) < 1e-12);
    });
  } finally {
    await fx.dispose();
  }
});
