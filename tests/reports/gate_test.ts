import assert from "node:assert/strict";
import type { Comparison, ComparisonRow } from "../../reports/compare.ts";
import { evaluateGates, parseGates } from "../../reports/gate.ts";

Deno.test("parseGates() reads name:<sign><pct>% lists", async (t) => {
  await t.step("latency and goodput gates", () => {
    assert.deepStrictEqual(
      parseGates("p99_ttft:+10%, goodput:-5%,p50_e2e:+2.5%"),
      [
        {
          spec: "p99_ttft:+10%",
          metric: "ttft_ms",
          statistic: "p99",
          direction: "+",
          boundPct: 10,
        },
        {
          spec: "goodput:-5%",
          metric: "goodput_rps",
          statistic: "value",
          direction: "-",
          boundPct: 5,
        },
        {
          spec: "p50_e2e:+2.5%",
          metric: "e2e_ms",
          statistic: "p50",
          direction: "+",
          boundPct: 2.5,
        },
      ],
    );
  });
  const errors: [string, string][] = [
    [
      "",
      'Invalid --gate "": expected at least one gate, e.g. p99_ttft:+10%,goodput:-5%',
    ],
    [
      "p99_ttft:10%",
      'Invalid --gate "p99_ttft:10%": part 1 "p99_ttft:10%" is not name:<+|-><percent>%, expected e.g. p99_ttft:+10%,goodput:-5%',
    ],
    [
      "p95_ttft:+10%",
      'Invalid --gate "p95_ttft:+10%": unknown gate "p95_ttft", expected goodput or p50_/p99_ followed by ttft, tpot, itl or e2e',
    ],
  ];
  for (const [spec, message] of errors) {
    await t.step(`error: ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseGates(spec), { message });
    });
  }
});

function comparison(row: Partial<ComparisonRow>): Comparison {
  return {
    baselineRunId: "a",
    candidateRunId: "b",
    slo: {},
    failurePolicy: "errors_and_timeouts_count_as_missed;cancelled_excluded",
    replicates: 200,
    seed: 0,
    ciMethod: "percentile bootstrap",
    rows: [{
      metric: "ttft_ms",
      statistic: "p99",
      nBaseline: 100,
      nCandidate: 100,
      baseline: 100,
      candidate: 130,
      delta: 30,
      deltaPct: 30,
      ciLow: 20,
      ciHigh: 40,
      ciLowPct: 20,
      ciHighPct: 40,
      significant: true,
      ...row,
    }],
  };
}

Deno.test("evaluateGates() fails only beyond the bound and outside the noise", async (t) => {
  const gate = parseGates("p99_ttft:+10%");
  await t.step("beyond bound, interval above 0: fail", () => {
    const [r] = evaluateGates(gate, comparison({}));
    assert.equal(r.verdict, "fail");
    assert.equal(
      r.message,
      "p99 ttft_ms: 100.0 -> 130.0 (+30.0%, 95% CI +20.0% .. +40.0%), bound +10%: beyond bound and outside the noise",
    );
  });
  await t.step(
    "beyond bound but the interval includes 0: noise, not a failure",
    () => {
      const [r] = evaluateGates(
        gate,
        comparison({ ciLowPct: -5, significant: false }),
      );
      assert.equal(r.verdict, "noise");
    },
  );
  await t.step("within bound: pass, however certain", () => {
    const [r] = evaluateGates(
      gate,
      comparison({ deltaPct: 8, ciLowPct: 5, ciHighPct: 9 }),
    );
    assert.equal(r.verdict, "pass");
  });
  await t.step("an improvement passes", () => {
    const [r] = evaluateGates(
      gate,
      comparison({ deltaPct: -30, ciLowPct: -40, ciHighPct: -20 }),
    );
    assert.equal(r.verdict, "pass");
  });
  await t.step("goodput: a drop beyond the bound fails", () => {
    const [r] = evaluateGates(
      parseGates("goodput:-5%"),
      comparison({
        metric: "goodput_rps",
        statistic: "value",
        deltaPct: -20,
        ciLowPct: -25,
        ciHighPct: -15,
      }),
    );
    assert.equal(r.verdict, "fail");
  });
  await t.step("no value on a side: no_data, not judged", () => {
    const [r] = evaluateGates(
      gate,
      comparison({ deltaPct: null, ciLowPct: null, ciHighPct: null }),
    );
    assert.equal(r.verdict, "no_data");
  });
});
