import assert from "node:assert/strict";
import { renderHtml } from "../../../reports/render/html.ts";
import { collectRunReport } from "../../../reports/results/run_report.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { createFixtureStore, RUN_A, RUN_C } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

Deno.test("renderHtml()", async (t) => {
  const s = (value: number) => ({ id: "s1", axis: "rate" as const, value });
  const fx = await createFixtureStore([
    RUN_A,
    RUN_C,
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
  await fx.store.exec(
    `insert into sweeps values ('s1', 'demo', now(), now(), 'rate', '1,2', 100, null, null,
       null, 'errors_and_timeouts_count_as_missed;cancelled_excluded', 0.9, null)`,
  );
  const snapshot = await openSnapshot(fx.store);
  try {
    const html = await renderHtml(
      await collectRunReport(snapshot, RUN_A.runId, { slo: { ttftMs: 30 } }),
    );

    await t.step(
      "one self-contained file: no script, no external resource",
      () => {
        assert.ok(html.startsWith("<!doctype html>"));
        assert.ok(!/<script/i.test(html));
        assert.ok(!/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html));
        assert.ok(!/@import|url\(/i.test(html));
      },
    );

    await t.step(
      "charts are inline SVG: CDFs, over time, throughput, lag, timeline",
      () => {
        assert.equal((html.match(/<svg/g) ?? []).length, 5);
        for (
          const title of [
            "Latency CDFs",
            "TTFT and TPOT over time",
            "Throughput timeline",
            "Schedule lag",
            "Per-request timeline",
          ]
        ) {
          assert.ok(html.includes(title), title);
        }
      },
    );

    await t.step("the headline comes first, flagged, before any table", () => {
      const at = html.indexOf(
        '<p class="headline flagged" id="headline">goodput 8.000 req/s',
      );
      assert.ok(at > 0, "headline");
      assert.ok(at < html.indexOf("<table"), "before the first table");
      assert.ok(
        html.includes("fidelity FLAGGED (send rate off by 5.7% &gt; 5%;"),
      );
      assert.ok(html.includes('<table id="failure-messages">'));
      assert.ok(html.includes("<h2>Lengths (tokens)</h2>"));
    });

    await t.step("tables: latency, anchors, fidelity; values escaped", () => {
      for (
        const s of [
          "normalized_latency_ms_per_token",
          "vllm_ttft_ms",
          "send_rate_deviation",
        ]
      ) {
        assert.ok(html.includes(s), s);
      }
      assert.ok(html.includes("ttft&lt;=30ms"));
    });

    await t.step(
      "a sweep point shows the attainment-vs-rate chart and capacity",
      async () => {
        const sweep = await renderHtml(await collectRunReport(snapshot, "p2"));
        assert.ok(sweep.includes("Attainment vs offered rate"));
        assert.ok(sweep.includes("<b>1.200 req/s</b> (interpolated"));
      },
    );

    await t.step(
      "a run with no completed requests renders and says why",
      async () => {
        const c = await renderHtml(
          await collectRunReport(snapshot, RUN_C.runId),
        );
        assert.ok(c.includes("Incomplete run"));
        assert.ok(
          c.includes(
            "no completed requests (status ok; 1 error, 1 timeout, 1 cancelled)",
          ),
        );
        assert.ok(c.includes("No latency samples."));
      },
    );
  } finally {
    snapshot.close();
    await fx.dispose();
  }
});
