import assert from "node:assert/strict";
import { collectRunReport } from "../../../reports/results/run_report.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { createFixtureStore, RUN_A, RUN_C } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

Deno.test("collectRunReport()", async (t) => {
  const big = generatedRun({
    runId: "big",
    schedMs: Array.from({ length: 12 }, (_, i) => i * 10),
    ttftMs: Array(12).fill(20),
  });
  const fx = await createFixtureStore([RUN_A, RUN_C, big]);
  const snapshot = await openSnapshot(fx.store);
  try {
    await t.step("every section, from the views", async () => {
      const r = await collectRunReport(snapshot, RUN_A.runId, {
        slo: { ttftMs: 30 },
      });
      assert.deepStrictEqual(
        [
          r.summary.slo?.met,
          r.anchors.length,
          r.cdf.length,
          r.timeseries.length,
          r.fidelity.map((f) => f.name).slice(0, 3),
          r.sweep,
        ],
        [
          2, // r2 (30) and r6 (20)
          14,
          404,
          1, // 2 ms .. 252 ms: one 1 s bin
          ["run_status", "schedule_lag_p99_ms", "send_rate_deviation"],
          null,
        ],
      );
      assert.deepStrictEqual(r.timeline?.map((q) => [q.reqId, q.sentS]), [
        ["r1", 0],
        ["r2", 0.008],
        ["r3", 0.019],
        ["r4", 0.028],
        ["r5", 0.039],
        ["r6", 0.053],
      ]);
    });

    await t.step(
      "above the limit, every k-th request by send time, and said so",
      async () => {
        const r = await collectRunReport(snapshot, "big", {
          timelineLimit: 10,
        });
        const all = await collectRunReport(snapshot, "big", {
          timelineLimit: 1000,
        });
        const k = Math.ceil(all.timeline.length / 10);
        assert.equal(r.timelineStep, k);
        assert.equal(r.timelineTotal, all.timeline.length);
        assert.deepStrictEqual(
          r.timeline,
          all.timeline.filter((_, i) => i % k === 0),
        );
        assert.ok(r.timeline.length <= 10);
        assert.equal(all.timelineStep, 1);
      },
    );

    await t.step(
      "a run with no completed requests still reports and explains",
      async () => {
        const r = await collectRunReport(snapshot, RUN_C.runId);
        assert.ok(
          r.summary.notes.some((n) =>
            n.startsWith("no completed requests (status ok")
          ),
        );
        assert.ok(r.cdf.every((p) => p.valueMs === null));
        assert.equal(r.fidelity[0].flagged, true); // aborted
      },
    );
  } finally {
    snapshot.close();
    await fx.dispose();
  }
});
