import assert from "node:assert/strict";
import {
  attainmentCollapsed,
  parseSweepValues,
  readSweep,
} from "../../../reports/results/sweep.ts";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

Deno.test("parseSweepValues() sorts and deduplicates", async (t) => {
  await t.step("4,1,2,2 -> 1,2,4", () => {
    assert.deepStrictEqual(parseSweepValues("--rates", "4,1, 2,2"), [1, 2, 4]);
  });
  await t.step("error names the flag and the bad part", () => {
    assert.throws(() => parseSweepValues("--speedups", "1,x"), {
      message:
        'Invalid --speedups "1,x": "x" is not a number > 0, expected e.g. 1,2,4,8',
    });
  });
});

Deno.test("attainmentCollapsed() is true only for a known attainment below the bound", async (t) => {
  for (
    const [a, c, want] of [[0.4, 0.5, true], [0.5, 0.5, false], [
      null,
      0.5,
      false,
    ]] as const
  ) {
    await t.step(`${a} vs ${c} -> ${want}`, () => {
      assert.equal(attainmentCollapsed(a, c), want);
    });
  }
});

Deno.test("readSweep() reads the curve and capacity with the recorded SLO", async () => {
  const s = (value: number) => ({ id: "s1", axis: "rate" as const, value });
  const fx = await createFixtureStore([
    generatedRun({
      runId: "p1",
      schedMs: [0, 1000],
      ttftMs: [50, 50],
      sweep: s(1),
    }),
    generatedRun({
      runId: "p2",
      schedMs: [0, 500],
      ttftMs: [50, 150],
      sweep: s(2),
    }),
  ]);
  try {
    await fx.store.exec(
      `insert into sweeps values ('s1', 'demo', now(), now(), 'rate', '1,2', 100, null, null,
         null, 'errors_and_timeouts_count_as_missed;cancelled_excluded', 0.9, 'all 2 points run')`,
    );
    const sweep = await readSweep(fx.store, "s1");
    assert.deepStrictEqual(
      [
        sweep.label,
        sweep.axis,
        sweep.plannedValues,
        sweep.slo,
        sweep.stopReason,
      ],
      ["demo", "rate", [1, 2], { ttftMs: 100 }, "all 2 points run"],
    );
    assert.deepStrictEqual(
      sweep.points.map((p) => [p.runId, p.offeredRps, p.attainment]),
      [["p1", 1, 1], ["p2", 2, 0.5]],
    );
    assert.equal(sweep.capacity.bound, "interpolated");
    assert.ok(Math.abs(sweep.capacity.capacityRps! - 1.2) < 1e-12);
    await assert.rejects(readSweep(fx.store, "nope"), {
      message: `No sweep "nope" in "${fx.store.path}"`,
    });
  } finally {
    await fx.dispose();
  }
});
