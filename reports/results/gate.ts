/**
 * Regression gates: `--gate "p99_ttft:+10%,goodput:-5%"` parsed into bounds and judged against
 * a {@linkcode Comparison}.
 *
 * A gate fails only when its bound is exceeded beyond the noise: the whole 95 % interval of the
 * change lies past the bound (for `+10%`, the interval's low end is above +10 %). A change whose
 * estimate is past the bound but whose interval reaches back within it is reported as `noise`,
 * which does not fail. With groups of repeated runs the interval comes from the variation
 * between runs (`between_run_compare`), so an A/A comparison of identical configurations fails
 * rarely (docs/regression.md measures how rarely).
 *
 * When a run of either side has a flagged fidelity check the comparison is not trusted: every
 * verdict is marked `untrusted` (its numbers may be the harness's or the machine's, not the
 * server's); `compare --fail-on-untrusted` fails on that alone.
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
  /** The gate judged. */
  gate: Gate;
  /** `pass`, `fail`, `noise` (the estimate is past the bound, its interval is not) or `no_data`. */
  verdict: GateVerdict;
  /** A side's fidelity is flagged: read the verdict with care (see the module documentation). */
  untrusted: boolean;
  /** The compared statistic the gate read; `undefined` when the comparison has none. */
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
 * The gates `compare` applies when neither `--gate` nor the suite names any: the medians of
 * TTFT and TPOT may not grow by 10 %, their p99s by 20 %, goodput may not fall by 5 %.
 */
export const DEFAULT_GATES =
  "p50_ttft:+10%,p99_ttft:+20%,p50_tpot:+10%,p99_tpot:+20%,goodput:-5%";

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
 * const side = { name: "a", groupId: null, runIds: ["a"], attainment: [],
 *   trust: { runs: 1, flaggedRuns: 0, reasons: [] } };
 * const comparison: Comparison = {
 *   baseline: side, candidate: { ...side, name: "b", runIds: ["b"] }, slo: {}, failurePolicy: "x",
 *   method: "between_runs", optimistic: false, replicates: 200, seed: 0, ciMethod: "t",
 *   caveat: null, trusted: true, differences: [],
 *   rows: [{ metric: "ttft_ms", statistic: "p99", nBaseline: 100, nCandidate: 100,
 *     runsBaseline: 3, runsCandidate: 3, baseline: 100, candidate: 130, delta: 30, deltaPct: 30,
 *     ciLow: 20, ciHigh: 40, ciLowPct: 20, ciHighPct: 40, significant: true, scale: "log_ratio" }],
 * };
 * console.log(evaluateGates(parseGates("p99_ttft:+10%"), comparison)[0].verdict); // fail (20 % > 10 %)
 * console.log(evaluateGates(parseGates("p99_ttft:+25%"), comparison)[0].verdict); // noise
 * ```
 */
export function evaluateGates(
  gates: readonly Gate[],
  comparison: Comparison,
): GateResult[] {
  const untrusted = !comparison.trusted;
  const distrust = untrusted ? ` [untrusted: ${trustNote(comparison)}]` : "";
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
        untrusted,
        row,
        message: `${what}: no value or no interval on one side (baseline n=${
          row?.nBaseline ?? 0
        }, candidate n=${row?.nCandidate ?? 0}), gate not judged${distrust}`,
      };
    }
    const sign = gate.direction === "+" ? 1 : -1;
    const beyond = sign * row.deltaPct > gate.boundPct;
    // the near end of the interval (the end closest to no change) is past the bound too
    const nearEnd = gate.direction === "+" ? row.ciLowPct : -row.ciHighPct;
    const beyondNoise = nearEnd > gate.boundPct;
    const numbers = `${fmt(row.baseline)} -> ${fmt(row.candidate)} (${
      signed(row.deltaPct)
    }%, 95% CI ${signed(row.ciLowPct)}% .. ${
      signed(row.ciHighPct)
    }%), bound ${gate.direction}${gate.boundPct}%`;
    const verdict: GateVerdict = beyondNoise
      ? "fail"
      : beyond
      ? "noise"
      : "pass";
    const why = verdict === "pass"
      ? "within bound"
      : verdict === "fail"
      ? "beyond the bound by more than the noise (the whole interval is past it)"
      : "beyond the bound, but the interval reaches back within it: not shown beyond the noise";
    return {
      gate,
      verdict,
      untrusted,
      row,
      message: `${what}: ${numbers}: ${why}${distrust}`,
    };
  });
}

/**
 * Why a comparison is not trusted, e.g. `candidate fidelity FLAGGED: failed 5% > 1% (2 of 3
 * runs)`; `""` for a trusted one.
 *
 * @example
 * ```ts ignore
 * if (!comparison.trusted) console.log(trustNote(comparison));
 * ```
 */
export function trustNote(comparison: Comparison): string {
  const parts: string[] = [];
  for (
    const [name, side] of [
      ["baseline", comparison.baseline],
      ["candidate", comparison.candidate],
    ] as const
  ) {
    if (side.trust.flaggedRuns > 0) {
      parts.push(`${name} fidelity FLAGGED: ${side.trust.reasons.join("; ")}`);
    }
  }
  return parts.join("; ");
}

function fmt(v: number | null): string {
  if (v === null) return "—";
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

function signed(v: number): string {
  return (v >= 0 ? "+" : "") + v.toFixed(1);
}
