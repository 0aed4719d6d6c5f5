import assert from "node:assert/strict";
import type { Comparison } from "../../../reports/results/compare.ts";
import { evaluateGates, parseGates } from "../../../reports/results/gate.ts";
import {
  renderFidelityJunit,
  renderGatesJunit,
} from "../../../reports/render/junit.ts";
import { collectRunReport } from "../../../reports/results/run_report.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

const SIDE = {
  name: "a",
  groupId: null,
  runIds: ["a"],
  attainment: [],
  trust: { runs: 1, flaggedRuns: 0, reasons: [] },
};
const COMPARISON: Comparison = {
  baseline: SIDE,
  candidate: { ...SIDE, name: "b", runIds: ["b"] },
  slo: {},
  failurePolicy: "x",
  method: "within_run",
  optimistic: true,
  replicates: 200,
  seed: 0,
  ciMethod: "m",
  caveat: null,
  trusted: true,
  differences: [],
  rows: [{
    metric: "ttft_ms",
    statistic: "p99",
    nBaseline: 10,
    nCandidate: 10,
    runsBaseline: 1,
    runsCandidate: 1,
    baseline: 100,
    candidate: 150,
    delta: 50,
    deltaPct: 50,
    ciLow: 40,
    ciHigh: 60,
    ciLowPct: 40,
    ciHighPct: 60,
    significant: true,
    scale: "log_ratio",
  }],
};

Deno.test("renderGatesJunit()", async (t) => {
  const xml = renderGatesJunit(
    "compare a -> b",
    evaluateGates(
      parseGates("p99_ttft:+10%,p99_ttft:+80%,p50_e2e:+5%"),
      COMPARISON,
    ),
  );
  await t.step("one test case per gate; failures and skips counted", () => {
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
    assert.ok(
      xml.includes(
        '<testsuite name="compare a -&gt; b" tests="3" failures="1" errors="0" skipped="1">',
      ),
    );
    assert.equal((xml.match(/<testcase /g) ?? []).length, 3);
    assert.ok(
      xml.includes(
        '<testcase classname="compare a -&gt; b" name="p99_ttft:+10%">',
      ),
    );
    assert.ok(
      xml.includes('<failure message="p99 ttft_ms: 100.0 -&gt; 150.0 (+50.0%'),
    );
    assert.ok(
      xml.includes(
        '<skipped message="p50 e2e_ms: no value or no interval on one side',
      ),
    );
  });
});

Deno.test("renderFidelityJunit()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  const snapshot = await openSnapshot(fx.store);
  try {
    const xml = renderFidelityJunit(
      await collectRunReport(snapshot, RUN_A.runId),
    );
    await t.step("one case per check: flagged fail, unknown skipped", () => {
      assert.ok(xml.includes('tests="13" failures="4" errors="0" skipped="4"'));
      assert.ok(xml.includes('name="send_rate_deviation"'));
      assert.ok(
        xml.includes(
          '<properties><property name="headline" value="goodput —, attainment — (no SLO given',
        ),
        xml,
      );
    });
  } finally {
    snapshot.close();
    await fx.dispose();
  }
});
