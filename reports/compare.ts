/**
 * Comparing two runs: p50/p99 of each latency metric and goodput, candidate minus baseline,
 * with bootstrap 95 % confidence intervals, read from the `bootstrap_compare` macro.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import {
  DEFAULT_FAILURE_POLICY,
  type FailurePolicy,
} from "./failure_policy.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";

/** One compared statistic (a row of `bootstrap_compare`). */
export interface ComparisonRow {
  /** `ttft_ms`, `tpot_ms`, `itl_ms`, `e2e_ms` or `goodput_rps`. */
  metric: string;
  /** `p50`, `p99`, or `value` (goodput). */
  statistic: string;
  nBaseline: number;
  nCandidate: number;
  baseline: number | null;
  candidate: number | null;
  /** candidate - baseline, in the metric's unit. */
  delta: number | null;
  /** 100 * delta / baseline. */
  deltaPct: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  ciLowPct: number | null;
  ciHighPct: number | null;
  /** The 95 % interval excludes 0; `null` when a side has no value. */
  significant: boolean | null;
}

/** A comparison of two runs. */
export interface Comparison {
  baselineRunId: string;
  candidateRunId: string;
  slo: Slo;
  failurePolicy: string;
  replicates: number;
  seed: number;
  ciMethod: string;
  rows: ComparisonRow[];
}

/** Options of {@linkcode compareRuns}. */
export interface CompareOptions {
  /** SLO for goodput (no bound: every completed request is good). */
  slo?: Slo;
  failurePolicy?: FailurePolicy;
  /** Bootstrap replicates. Default 200. */
  replicates?: number;
  /** Seed of the (hash-based, reproducible) resampling. Default 0. */
  seed?: number;
  /** Samples per run and metric above which the bootstrap thins. Default 5000. */
  maxSamples?: number;
}

/**
 * Compares run `candidateRunId` against `baselineRunId`.
 *
 * @example
 * ```ts
 * import { Store } from "../harness/store.ts";
 * import { installViews } from "./views.ts";
 * import { compareRuns } from "./compare.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * for (const runId of ["a", "b"]) {
 *   await store.createRun({ runId, backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * }
 * await installViews(store);
 * const c = await compareRuns(store, "a", "b");
 * console.log(c.rows.map((r) => `${r.statistic}_${r.metric}`).join(" "));
 * store.close();
 * ```
 */
export async function compareRuns(
  source: ReportSource,
  baselineRunId: string,
  candidateRunId: string,
  options: CompareOptions = {},
): Promise<Comparison> {
  const slo = options.slo ?? {};
  const policy = options.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  const replicates = options.replicates ?? 200;
  const seed = options.seed ?? 0;
  const rows = await source.query(
    `select * from bootstrap_compare($1, $2, $3, $4, $5, itl_ms_max := $6,
       failure_policy := $7, replicates := $8, seed := $9, max_samples := $10)
     order by row_order`,
    [
      baselineRunId,
      candidateRunId,
      slo.ttftMs ?? null,
      slo.tpotMs ?? null,
      slo.e2eMs ?? null,
      slo.itlMs ?? null,
      policy,
      replicates,
      seed,
      options.maxSamples ?? 5000,
    ],
  );
  return {
    baselineRunId,
    candidateRunId,
    slo,
    failurePolicy: policy,
    replicates,
    seed,
    ciMethod: rows.length > 0 ? String(rows[0].ci_method) : "",
    rows: rows.map((r) => ({
      metric: r.metric as string,
      statistic: r.statistic as string,
      nBaseline: num(r.n_baseline)!,
      nCandidate: num(r.n_candidate)!,
      baseline: num(r.baseline_value),
      candidate: num(r.candidate_value),
      delta: num(r.delta),
      deltaPct: num(r.delta_pct),
      ciLow: num(r.ci_low),
      ciHigh: num(r.ci_high),
      ciLowPct: num(r.ci_low_pct),
      ciHighPct: num(r.ci_high_pct),
      significant: r.significant === null ? null : r.significant === true,
    })),
  };
}

function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}
