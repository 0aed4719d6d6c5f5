import assert from "node:assert/strict";
import { compareRuns } from "../../../reports/results/compare.ts";
import { evaluateGates, parseGates } from "../../../reports/results/gate.ts";
import {
  COMPARE_SCHEMA,
  renderComparisonJson,
  renderComparisonMarkdown,
  renderComparisonText,
} from "../../../reports/render/comparison.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

Deno.test("renderComparisonText() and friends", async (t) => {
  const sched = Array.from({ length: 60 }, (_, i) => i * 40);
  const ttft = sched.map((_, i) => 40 + 2 * (i % 11));
  const fx = await createFixtureStore([
    generatedRun({ runId: "base", schedMs: sched, ttftMs: ttft }),
    generatedRun({
      runId: "slow",
      schedMs: sched,
      ttftMs: ttft.map((v) => v * 2),
    }),
  ]);
  const snapshot = await openSnapshot(fx.store);
  try {
    const c = await compareRuns(snapshot, "base", "slow", {
      slo: { ttftMs: 70 },
    });
    const gates = evaluateGates(parseGates("p99_ttft:+10%,goodput:-5%"), c);
    await t.step("terminal: a row per statistic, then verdicts", () => {
      const text = renderComparisonText(c, gates);
      assert.ok(text.includes("p99 ttft_ms"));
      assert.ok(text.includes("FAIL p99_ttft:+10%"));
      assert.ok(
        text.startsWith(
          "== verdict: FAIL (2 of 2 gates), trusted, intervals optimistic",
        ),
      );
      assert.ok(
        text.includes(
          "caveat      1 run per side: the intervals cover only the sampling",
        ),
      );
      assert.ok(
        text.endsWith(
          "verdict: FAIL (2 of 2 gates), trusted, intervals optimistic (1 run per side)\n",
        ),
        text,
      );
      for (const line of text.split("\n")) assert.ok(line.length <= 100, line);
    });
    await t.step("markdown table with gates", () => {
      const md = renderComparisonMarkdown(c, gates);
      assert.ok(md.includes("| p50 ttft_ms | 1/1 | 60 | 60 |"));
      assert.ok(md.includes("| p99_ttft:+10% | **FAIL** |"));
    });
    await t.step("versioned JSON", () => {
      const j = JSON.parse(renderComparisonJson(c, gates));
      assert.equal(j.schema, COMPARE_SCHEMA);
      assert.equal(j.rows.length, 9);
      assert.equal(j.passed, false);
      assert.deepStrictEqual(j.slo, {
        ttft_ms: 70,
        tpot_ms: null,
        e2e_ms: null,
        itl_ms: null,
      });
    });
  } finally {
    snapshot.close();
    await fx.dispose();
  }
});
