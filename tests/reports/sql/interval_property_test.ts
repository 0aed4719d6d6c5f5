/**
 * Property: on random runs, every comparison interval contains its point estimate and a
 * percentage change never falls below -100 % (between_run_compare and bootstrap_compare).
 */
import assert from "node:assert/strict";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261201;
const rnd = random(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

// 30 runs of 1-12 requests with TTFTs over two orders of magnitude, 1-6 tokens, gaps 0-30 ms
// (0 ms gaps make p50 ITL 0, which forces the difference scale)
const RUNS = Array.from({ length: 30 }, (_, i) => {
  const n = int(1, 12);
  const sched = Array.from({ length: n }, (_, k) => k * int(5, 200));
  return generatedRun({
    runId: `p${i}`,
    schedMs: sched,
    ttftMs: sched.map(() => int(1, 900)),
    tokens: int(1, 6),
    itlMs: int(0, 3) === 0 ? 0 : int(1, 30),
  });
});

interface Row {
  metric: string;
  statistic: string;
  delta: number | null;
  ci_low: number | null;
  ci_high: number | null;
  ci_low_pct: number | null;
}

function check(rows: Row[], what: string): number {
  let intervals = 0;
  for (const r of rows) {
    if (r.ci_low === null || r.delta === null || r.ci_high === null) continue;
    intervals++;
    const eps = 1e-9 * Math.max(1, Math.abs(r.delta));
    const where = `${what} ${r.statistic} ${r.metric} (seed ${SEED})`;
    assert.ok(r.ci_low <= r.delta + eps, `${where}: ${r.ci_low} > ${r.delta}`);
    assert.ok(
      r.delta <= r.ci_high + eps,
      `${where}: ${r.delta} > ${r.ci_high}`,
    );
    if (r.ci_low_pct !== null) {
      assert.ok(r.ci_low_pct >= -100 - 1e-9, `${where}: ${r.ci_low_pct} %`);
    }
  }
  return intervals;
}

Deno.test("comparison intervals contain their point estimates on random runs", async (t) => {
  const fx = await createFixtureStore(RUNS);
  const pick = () => {
    const k = int(1, 4);
    const chosen = new Set<string>();
    while (chosen.size < k) chosen.add(`p${int(0, RUNS.length - 1)}`);
    return `[${[...chosen].map((id) => `'${id}'`).join(", ")}]`;
  };
  try {
    await t.step(
      "between_run_compare(), 40 random pairs of groups",
      async () => {
        let intervals = 0;
        for (let i = 0; i < 40; i++) {
          const b = pick();
          const c = pick();
          const slo = int(0, 1) === 0 ? "null" : String(int(50, 900));
          const rows = await fx.store.query(
            `select metric, statistic, delta, ci_low, ci_high, ci_low_pct
           from between_run_compare(${b}, ${c}, ${slo}, null, null)`,
          ) as unknown as Row[];
          intervals += check(rows, `${b} vs ${c}, ttft <= ${slo}`);
        }
        assert.ok(intervals > 100, `only ${intervals} intervals were checked`);
      },
    );

    await t.step("bootstrap_compare(), 15 random pairs of runs", async () => {
      let intervals = 0;
      for (let i = 0; i < 15; i++) {
        const b = `p${int(0, RUNS.length - 1)}`;
        const c = `p${int(0, RUNS.length - 1)}`;
        const slo = int(0, 1) === 0 ? "null" : String(int(50, 900));
        const rows = await fx.store.query(
          `select metric, statistic, delta, ci_low, ci_high, ci_low_pct
           from bootstrap_compare('${b}', '${c}', ${slo}, null, null, replicates := 50)`,
        ) as unknown as Row[];
        intervals += check(rows, `${b} vs ${c}, ttft <= ${slo}`);
      }
      assert.ok(intervals > 60, `only ${intervals} intervals were checked`);
    });
  } finally {
    await fx.dispose();
  }
});
