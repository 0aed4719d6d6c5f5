/**
 * Regression gates: `--gate "p99_ttft:+10%,goodput:-5%"` parsed into bounds and judged against
 * a {@linkcode Comparison}.
 *
 * A gate fails only when the change is beyond its bound AND outside the noise (the bootstrap
 * 95 % interval of the change excludes 0 on the bad side); a change beyond the bound that the
 * interval cannot tell from noise is reported as `noise`, which does not fail.
 *
 * @module
 */
import type { Comparison, ComparisonRow } from "./compare.ts";

/** One parsed gate. */
export interface Gate {
  /** As written, e.g. `p99_ttft:+10%`. */
  spec: string;
  /** `ttft_ms`, `tpot_ms`, `itl_ms`, `e2e_ms` or `goodput_rps`. */
  metric: string;
  /** `p50`, `p99` or `value`. */
  statistic: string;
  /** `+`: an increase is a regression (latency); `-`: a decrease is (goodput). */
  direction: "+" | "-";
  /** Allowed change in percent of the baseline (>= 0). */
  boundPct: number;
}

/** The verdict of one gate. */
export type GateVerdict = "pass" | "fail" | "noise" | "no_data";

/** A gate with its verdict. */
export interface GateResult {
  gate: Gate;
  verdict: GateVerdict;
  row: ComparisonRow | undefined;
  /** One sentence with the numbers behind the verdict. */
  message: string;
}

const METRICS: Record<string, string> = {
  ttft: "ttft_ms",
  tpot: "tpot_ms",
  itl: "itl_ms",
  e2e: "e2e_ms",
};
const EXAMPLE = "p99_ttft:+10%,goodput:-5%";

/**
 * Parses a gate list `name:<+|-><pct>%[,...]`. Names: `p50_<m>` / `p99_<m>` with m in ttft,
 * tpot, itl, e2e, and `goodput`. `+` bounds an increase, `-` a decrease.
 *
 * @example
 * ```ts
 * import { parseGates } from "./gate.ts";
 * console.log(parseGates("p99_ttft:+10%,goodput:-5%").map((g) => g.metric)); // [ "ttft_ms", "goodput_rps" ]
 * ```
 */
export function parseGates(spec: string): Gate[] {
  const fail = (why: string): never => {
    throw new Error(`Invalid --gate "${spec}": ${why}`);
  };
  if (spec.trim() === "") fail(`expected at least one gate, e.g. ${EXAMPLE}`);
  return spec.split(",").map((raw, i) => {
    const part = raw.trim();
    const m = /^([a-z0-9_]+)\s*:\s*([+-])\s*(\d+(?:\.\d+)?)\s*%$/.exec(part);
    if (m === null) {
      fail(
        `part ${
          i + 1
        } "${part}" is not name:<+|-><percent>%, expected e.g. ${EXAMPLE}`,
      );
    }
    const [, name, sign, pct] = m!;
    let metric: string;
    let statistic: string;
    if (name === "goodput") {
      metric = "goodput_rps";
      statistic = "value";
    } else {
      const n = /^(p50|p99)_(ttft|tpot|itl|e2e)$/.exec(name);
      if (n === null) {
        fail(
          `unknown gate "${name}", expected goodput or p50_/p99_ followed by ttft, tpot, itl or e2e`,
        );
      }
      statistic = n![1];
      metric = METRICS[n![2]];
    }
    return {
      spec: part,
      metric,
      statistic,
      direction: sign as "+" | "-",
      boundPct: Number(pct),
    };
  });
}

/**
 * Judges each gate against the comparison (see the module documentation).
 *
 * @example
 * ```ts
 * import { evaluateGates, parseGates } from "./gate.ts";
 * import type { Comparison } from "./compare.ts";
 * const comparison: Comparison = {
 *   baselineRunId: "a", candidateRunId: "b", slo: {}, failurePolicy: "x", replicates: 200, seed: 0,
 *   ciMethod: "percentile bootstrap",
 *   rows: [{ metric: "ttft_ms", statistic: "p99", nBaseline: 100, nCandidate: 100, baseline: 100,
 *     candidate: 130, delta: 30, deltaPct: 30, ciLow: 20, ciHigh: 40, ciLowPct: 20, ciHighPct: 40,
 *     significant: true }],
 * };
 * console.log(evaluateGates(parseGates("p99_ttft:+10%"), comparison)[0].verdict); // fail
 * ```
 */
export function evaluateGates(
  gates: readonly Gate[],
  comparison: Comparison,
): GateResult[] {
  return gates.map((gate) => {
    const row = comparison.rows.find((r) =>
      r.metric === gate.metric && r.statistic === gate.statistic
    );
    const what = gate.statistic === "value"
      ? gate.metric
      : `${gate.statistic} ${gate.metric}`;
    if (
      row === undefined || row.deltaPct === null || row.ciLowPct === null ||
      row.ciHighPct === null
    ) {
      return {
        gate,
        verdict: "no_data",
        row,
        message: `${what}: no value on one side (baseline n=${
          row?.nBaseline ?? 0
        }, candidate n=${row?.nCandidate ?? 0}), gate not judged`,
      };
    }
    const sign = gate.direction === "+" ? 1 : -1;
    const change = sign * row.deltaPct;
    const beyond = change > gate.boundPct;
    // outside the noise: the whole interval lies on the bad side of 0
    const outsideNoise = gate.direction === "+"
      ? row.ciLowPct > 0
      : row.ciHighPct < 0;
    const numbers = `${fmt(row.baseline)} -> ${fmt(row.candidate)} (${
      signed(row.deltaPct)
    }%, 95% CI ${signed(row.ciLowPct)}% .. ${
      signed(row.ciHighPct)
    }%), bound ${gate.direction}${gate.boundPct}%`;
    const verdict: GateVerdict = !beyond
      ? "pass"
      : outsideNoise
      ? "fail"
      : "noise";
    const why = verdict === "pass"
      ? "within bound"
      : verdict === "fail"
      ? "beyond bound and outside the noise"
      : "beyond bound but within the noise (the interval includes no change)";
    return { gate, verdict, row, message: `${what}: ${numbers}: ${why}` };
  });
}

function fmt(v: number | null): string {
  if (v === null) return "—";
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

function signed(v: number): string {
  return (v >= 0 ? "+" : "") + v.toFixed(1);
}
