/**
 * Comparing two sides (a run, or a group of repeated runs, each): p50/p99 of each latency
 * metric and goodput, candidate against baseline, with 95 % confidence intervals.
 *
 * - When a side has 2 or more runs the change and its interval come from the runs' own values
 *   (`between_run_compare`: geometric means, a Welch t interval on the log scale), so the
 *   interval covers the variation between runs, which is what makes a gate trustworthy.
 * - When both sides are single runs only within-run sampling can be measured
 *   (`bootstrap_compare` over requests); the interval is then optimistic and the comparison
 *   says so.
 *
 * Each side's fidelity verdicts and per-run attainment are read too, for the headline and for
 * marking gates untrusted. Numbers come from the views; this module computes nothing.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import {
  DEFAULT_FAILURE_POLICY,
  type FailurePolicy,
} from "./failure_policy.ts";
import {
  type FidelityCheck,
  fidelityVerdict,
  groupReasons,
  readFidelity,
} from "./fidelity.ts";
import type { SettingDifference } from "./like_with_like.ts";
import type { ComparedSide } from "./resolve_group.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";

/** One compared statistic (a row of `between_run_compare` or `bootstrap_compare`). */
export interface ComparisonRow {
  /** `ttft_ms`, `tpot_ms`, `itl_ms`, `e2e_ms` or `goodput_rps`. */
  metric: string;
  /** `p50`, `p99`, or `value` (goodput). */
  statistic: string;
  /** Samples (requests or gaps) behind the baseline side, summed over its runs. */
  nBaseline: number;
  /** Samples behind the candidate side, summed over its runs. */
  nCandidate: number;
  /** Runs with a value on the baseline side. */
  runsBaseline: number;
  /** Runs with a value on the candidate side. */
  runsCandidate: number;
  /** A single run's value, or the geometric mean of a group's per-run values. */
  baseline: number | null;
  /** The candidate side's value (as `baseline`). */
  candidate: number | null;
  /** candidate - baseline, in the metric's unit. */
  delta: number | null;
  /** 100 * delta / baseline. */
  deltaPct: number | null;
  /** Lower bound of the 95 % interval on `delta`, in the metric's unit. */
  ciLow: number | null;
  /** Upper bound of the 95 % interval on `delta`, in the metric's unit. */
  ciHigh: number | null;
  /** `ciLow` as a percentage of `baseline`. */
  ciLowPct: number | null;
  /** `ciHigh` as a percentage of `baseline`. */
  ciHighPct: number | null;
  /** The 95 % interval excludes 0; `null` without an interval. */
  significant: boolean | null;
  /** `log_ratio` or `difference` (see the SQL headers). */
  scale: string;
}

/** A side's trust: its runs' fidelity verdicts. */
export interface SideTrust {
  /** Runs on the side. */
  runs: number;
  /** Runs with a flagged fidelity check. */
  flaggedRuns: number;
  /** One reason per flagged check, e.g. `failed 3% > 1% in 2 of 3 runs (worst shown)`. */
  reasons: string[];
}

/** A side of a comparison with what its headline shows. */
export interface ComparisonSide extends ComparedSide {
  /** Its runs' fidelity verdicts. */
  trust: SideTrust;
  /** SLO attainment (0..1) of each run, in run order; `null` where nothing was counted. */
  attainment: (number | null)[];
}

/** A comparison of two sides. */
export interface Comparison {
  /** The side compared against. */
  baseline: ComparisonSide;
  /** The side compared. */
  candidate: ComparisonSide;
  /** SLO bounds goodput was judged by (ms, inclusive). */
  slo: Slo;
  /** Machine name of the failure policy goodput was judged by. */
  failurePolicy: string;
  /** `between_runs` (a side has >= 2 runs) or `within_run` (one run each: optimistic). */
  method: "between_runs" | "within_run";
  /** `true` when the intervals cover within-run sampling only. */
  optimistic: boolean;
  /** Bootstrap replicates and seed (used by `within_run` only). */
  replicates: number;
  /** Seed of the bootstrap resampling. */
  seed: number;
  /** How the intervals were computed, in words (the views' `ci_method`). */
  ciMethod: string;
  /** What the reader must know about the method (e.g. the N = 1 caveat), else `null`. */
  caveat: string | null;
  /** The compared statistics, in the views' row order. */
  rows: ComparisonRow[];
  /** `false` when a run of either side has a flagged fidelity check. */
  trusted: boolean;
  /** Setting differences the comparison was allowed to ignore (`--allow-different`). */
  differences: SettingDifference[];
}

/** Options of {@linkcode compareSides}. */
export interface CompareOptions {
  /** SLO for goodput (no bound: every completed request is good). */
  slo?: Slo;
  /** Which requests count toward goodput. Default `DEFAULT_FAILURE_POLICY`. */
  failurePolicy?: FailurePolicy;
  /** Bootstrap replicates (single runs only). Default 200. */
  replicates?: number;
  /** Seed of the (hash-based, reproducible) resampling. Default 0. */
  seed?: number;
  /** Samples per run and metric above which the bootstrap thins. Default 5000. */
  maxSamples?: number;
  /** Differences to carry into the result (the caller checked and allowed them). */
  differences?: SettingDifference[];
}

/** The caveat printed with a comparison of single runs. */
export const SINGLE_RUN_CAVEAT: string =
  "1 run per side: the intervals cover only the sampling of requests within each run, not the " +
  "variation between runs, so they are optimistic (too narrow); record groups of repeated runs " +
  "(tokentrace run --repeat 3) for intervals and gates that account for run-to-run noise";

/**
 * Compares the candidate side against the baseline side (see the module documentation).
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { compareSides } from "./compare.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * for (const runId of ["a", "b"]) {
 *   await store.createRun({ runId, backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * }
 * await installViews(store);
 * const c = await compareSides(store, { name: "a", groupId: null, runIds: ["a"] },
 *   { name: "b", groupId: null, runIds: ["b"] });
 * console.log(c.method, c.rows.map((r) => `${r.statistic}_${r.metric}`).join(" "));
 * store.close();
 * ```
 */
export async function compareSides(
  source: ReportSource,
  baseline: ComparedSide,
  candidate: ComparedSide,
  options: CompareOptions = {},
): Promise<Comparison> {
  const slo = options.slo ?? {};
  const policy = options.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  const replicates = options.replicates ?? 200;
  const seed = options.seed ?? 0;
  const single = baseline.runIds.length === 1 && candidate.runIds.length === 1;
  const bounds = [
    slo.ttftMs ?? null,
    slo.tpotMs ?? null,
    slo.e2eMs ?? null,
    slo.itlMs ?? null,
    policy,
  ];
  const rows = single
    ? await source.query(
      `select *, 1 as runs_baseline, 1 as runs_candidate
       from bootstrap_compare($1, $2, $3, $4, $5, itl_ms_max := $6, failure_policy := $7,
         replicates := $8, seed := $9, max_samples := $10)
       order by row_order`,
      [
        baseline.runIds[0],
        candidate.runIds[0],
        ...bounds,
        replicates,
        seed,
        options.maxSamples ?? 5000,
      ],
    )
    : await source.query(
      `select * from between_run_compare(string_split($1, chr(31)),
         string_split($2, chr(31)), $3, $4, $5, itl_ms_max := $6, failure_policy := $7)
       order by row_order`,
      [listLiteral(baseline.runIds), listLiteral(candidate.runIds), ...bounds],
    );
  const b = await sideOf(source, baseline, bounds);
  const c = await sideOf(source, candidate, bounds);
  return {
    baseline: b,
    candidate: c,
    slo,
    failurePolicy: policy,
    method: single ? "within_run" : "between_runs",
    optimistic: single,
    replicates,
    seed,
    ciMethod: rows.length > 0 ? String(rows[0].ci_method) : "",
    caveat: single ? SINGLE_RUN_CAVEAT : oneSidedCaveat(baseline, candidate),
    rows: rows.map((r) => ({
      metric: r.metric as string,
      statistic: r.statistic as string,
      nBaseline: num(r.n_baseline)!,
      nCandidate: num(r.n_candidate)!,
      runsBaseline: num(r.runs_baseline)!,
      runsCandidate: num(r.runs_candidate)!,
      baseline: num(r.baseline_value),
      candidate: num(r.candidate_value),
      delta: num(r.delta),
      deltaPct: num(r.delta_pct),
      ciLow: num(r.ci_low),
      ciHigh: num(r.ci_high),
      ciLowPct: num(r.ci_low_pct),
      ciHighPct: num(r.ci_high_pct),
      significant: r.significant === null ? null : r.significant === true,
      scale: String(r.scale),
    })),
    trusted: b.trust.flaggedRuns === 0 && c.trust.flaggedRuns === 0,
    differences: options.differences ?? [],
  };
}

/**
 * Compares two single runs (a shorthand of {@linkcode compareSides}).
 *
 * @example
 * ```ts ignore
 * const c = await compareRuns(snapshot, baselineRunId, candidateRunId, { slo });
 * ```
 */
export function compareRuns(
  source: ReportSource,
  baselineRunId: string,
  candidateRunId: string,
  options: CompareOptions = {},
): Promise<Comparison> {
  return compareSides(
    source,
    { name: baselineRunId, groupId: null, runIds: [baselineRunId] },
    { name: candidateRunId, groupId: null, runIds: [candidateRunId] },
    options,
  );
}

function oneSidedCaveat(b: ComparedSide, c: ComparedSide): string | null {
  if (b.runIds.length > 1 && c.runIds.length > 1) return null;
  const one = b.runIds.length === 1 ? "baseline" : "candidate";
  return `the ${one} is a single run: its run-to-run spread is taken to be the other side's`;
}

async function sideOf(
  source: ReportSource,
  side: ComparedSide,
  bounds: DuckDBValue[],
): Promise<ComparisonSide> {
  const checks: FidelityCheck[][] = [];
  let flaggedRuns = 0;
  for (const runId of side.runIds) {
    const c = await readFidelity(source, runId);
    if (!fidelityVerdict(c).ok) flaggedRuns++;
    checks.push(c);
  }
  const n = side.runIds.length;
  const attainmentRows = await source.query(
    `select run_id, attainment
     from slo_attainment($1, $2, $3, itl_ms_max := $4, failure_policy := $5)
     where list_contains(string_split($6, chr(31)), run_id)`,
    [...bounds, listLiteral(side.runIds)],
  );
  const byRun = new Map(
    attainmentRows.map((r) => [r.run_id, num(r.attainment)]),
  );
  return {
    ...side,
    trust: {
      runs: n,
      flaggedRuns,
      reasons: groupReasons(checks),
    },
    attainment: side.runIds.map((id) => byRun.get(id) ?? null),
  };
}

/**
 * Run ids as one text parameter, split in SQL by `string_split($n, chr(31))` (the ASCII unit
 * separator, which no id holds): plain text binds, where a LIST parameter would need a native
 * list value per call.
 */
function listLiteral(ids: readonly string[]): string {
  return ids.join("\u001f");
}

function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}
