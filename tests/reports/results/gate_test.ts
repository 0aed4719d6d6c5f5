import assert from "node:assert/strict";
import type {
  Comparison,
  ComparisonRow,
} from "../../../reports/results/compare.ts";
import { evaluateGates, parseGates } from "../../../reports/results/gate.ts";

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

const SIDE = {
  name: "a",
  groupId: "g",
  runIds: ["a1", "a2", "a3"],
  attainment: [1, 1, 1],
  trust: { runs: 3, flaggedRuns: 0, reasons: [] as string[] },
};

function comparison(
  row: Partial<ComparisonRow>,
  flagged: string[] = [],
): Comparison {
  return {
    baseline: SIDE,
    candidate: {
      ...SIDE,
      name: "b",
      trust: {
        runs: 3,
        flaggedRuns: flagged.length === 0 ? 0 : 2,
        reasons: flagged,
      },
    },
    slo: {},
    failurePolicy: "errors_and_timeouts_count_as_missed;cancelled_excluded",
    method: "between_runs",
    optimistic: false,
    replicates: 200,
    seed: 0,
    ciMethod: "t",
    caveat: null,
    trusted: flagged.length === 0,
    differences: [],
    rows: [{
      metric: "ttft_ms",
      statistic: "p99",
      nBaseline: 100,
      nCandidate: 100,
      runsBaseline: 3,
      runsCandidate: 3,
      baseline: 100,
      candidate: 130,
      delta: 30,
      deltaPct: 30,
      ciLow: 20,
      ciHigh: 40,
      ciLowPct: 20,
      ciHighPct: 40,
      significant: true,
      scale: "log_ratio",
      ...row,
    }],
  };
}

Deno.test("evaluateGates() fails only when the bound is exceeded beyond the interval", async (t) => {
  const gate = parseGates("p99_ttft:+10%");
  await t.step("the whole interval past the bound: fail", () => {
    const [r] = evaluateGates(gate, comparison({}));
    assert.equal(r.verdict, "fail");
    assert.equal(r.untrusted, false);
    assert.equal(
      r.message,
      "p99 ttft_ms: 100.0 -> 130.0 (+30.0%, 95% CI +20.0% .. +40.0%), bound +10%: beyond the bound by more than the noise (the whole interval is past it)",
    );
  });
  await t.step(
    "estimate past the bound, interval above 0 but reaching within the bound: noise",
    () => {
      const [r] = evaluateGates(gate, comparison({ ciLowPct: 5 }));
      assert.equal(r.verdict, "noise");
    },
  );
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
  await t.step(
    "a flagged side marks every verdict untrusted and says why",
    () => {
      const [r] = evaluateGates(
        gate,
        comparison({}, ["failed 5% > 1% in 2 of 3 runs (worst shown)"]),
      );
      assert.equal(r.verdict, "fail");
      assert.equal(r.untrusted, true);
      assert.ok(
        r.message.endsWith(
          "[untrusted: candidate fidelity FLAGGED: failed 5% > 1% in 2 of 3 runs (worst shown)]",
        ),
        r.message,
      );
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
    // the near end of a drop is the interval's high end
    const [n] = evaluateGates(
      parseGates("goodput:-5%"),
      comparison({
        metric: "goodput_rps",
        statistic: "value",
        deltaPct: -20,
        ciLowPct: -35,
        ciHighPct: -3,
      }),
    );
    assert.equal(n.verdict, "noise");
  });
  await t.step("no value on a side: no_data, not judged", () => {
    const [r] = evaluateGates(
      gate,
      comparison({ deltaPct: null, ciLowPct: null, ciHighPct: null }),
    );
    assert.equal(r.verdict, "no_data");
  });
});
