/**
 * The summary of one run: run info, window, counts, throughput, latency table and SLO results.
 *
 * Every number comes from a view or macro of `reports/sql/` (install them first with
 * `installViews`); this module only reads rows and moves them into a typed {@linkcode RunSummary}
 * that renderers (`reports/render/`) format. It computes no metric and prints nothing.
 *
 * The types of the summary are in `run_summary.ts`.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { RunStatus } from "../../harness/store.ts";
import {
  DEFAULT_FAILURE_POLICY,
  describeFailurePolicy,
  type FailurePolicy,
} from "./failure_policy.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";
import { latestCalibration } from "./calibration.ts";
import { explain } from "./_notes.ts";
import type {
  LatencyMetric,
  LatencyRow,
  MeasurementWindow,
  RequestCounts,
  RunInfo,
  RunSummary,
  SloSummary,
  Throughput,
} from "./run_summary.ts";
import { fidelityVerdict, readFidelity } from "./fidelity.ts";
import { readFailures } from "./failures.ts";

/** Options of {@linkcode summarizeRun}. */
export interface SummaryOptions {
  /** Which requests count toward SLO attainment. Default {@linkcode DEFAULT_FAILURE_POLICY}. */
  failurePolicy?: FailurePolicy;
}

/**
 * Reads the summary of run `runId` from the views, with SLO attainment when `slo` is given.
 *
 * Reads from a store with the views installed (`installViews`) or from a snapshot
 * (`openSnapshot`, much faster over large runs). Throws when the run does not exist.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { summarizeRun } from "./summary.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({
 *   runId: "r1",
 *   backend: "openai",
 *   toolVersion: "0.1.0",
 *   clockOriginUnixNs: 1_795_000_000_000_000_000n,
 * });
 * await installViews(store);
 * const summary = await summarizeRun(store, "r1", { ttftMs: 200 });
 * console.log(summary.counts.total, summary.notes);
 * store.close();
 * ```
 */
export async function summarizeRun(
  store: ReportSource,
  runId: string,
  slo?: Slo,
  options: SummaryOptions = {},
): Promise<RunSummary> {
  const runRows = await store.query(
    `select run_id, label, backend, status, epoch_ms(started_at) as started_at_ms,
       epoch_ms(finished_at) as finished_at_ms, end_reason, tool_version, git_rev,
       clock_origin_unix_ns, sweep_id, suite, scenario, group_id, group_index,
       (select label from run_groups as g where g.group_id = r.group_id) as group_label,
       (select repeats from run_groups as g where g.group_id = r.group_id) as group_repeats
     from runs as r where run_id = $1`,
    [runId],
  );
  if (runRows.length === 0) {
    throw new Error(`Run "${runId}" not found in "${store.path}"`);
  }
  const r = runRows[0];
  const status = r.status as RunStatus;
  const run: RunInfo = {
    runId,
    label: str(r.label),
    backend: r.backend as string,
    status,
    incomplete: status !== "completed",
    startedAt: new Date(num(r.started_at_ms)!).toISOString(),
    finishedAt: r.finished_at_ms === null
      ? null
      : new Date(num(r.finished_at_ms)!).toISOString(),
    endReason: str(r.end_reason),
    toolVersion: str(r.tool_version),
    gitRev: str(r.git_rev),
    clockOriginUnixNs: BigInt(r.clock_origin_unix_ns as bigint),
    sweepId: str(r.sweep_id),
    suite: str(r.suite),
    scenario: str(r.scenario),
    group: r.group_id === null ? null : {
      groupId: String(r.group_id),
      label: str(r.group_label),
      index: num(r.group_index) ?? 0,
      repeats: num(r.group_repeats) ?? 1,
    },
  };

  const w = await viewRow(
    store,
    "run_window",
    `select window_start_ns, window_end_ns, window_s, window_policy, warmup_ns, cooldown_ns
     from run_window where run_id = $1`,
    [runId],
  );
  const window: MeasurementWindow = {
    startNs: big(w.window_start_ns),
    endNs: big(w.window_end_ns),
    seconds: num(w.window_s),
    policy: w.window_policy as string,
    warmupS: num(w.warmup_ns)! / 1e9,
    cooldownS: num(w.cooldown_ns)! / 1e9,
  };

  const t = await viewRow(
    store,
    "run_throughput",
    `select n_total, n_ok, n_error, n_timeout, n_cancelled, n_in_flight, n_outside_window,
       output_tokens,
       input_tokens,
       request_throughput_rps, output_tokens_per_s, total_tokens_per_s,
       max_output_tokens_per_s_1s_bin
     from run_throughput where run_id = $1`,
    [runId],
  );
  const counts: RequestCounts = {
    total: num(t.n_total)!,
    ok: num(t.n_ok)!,
    error: num(t.n_error)!,
    timeout: num(t.n_timeout)!,
    cancelled: num(t.n_cancelled)!,
    ...(num(t.n_in_flight)! > 0 ? { inFlight: num(t.n_in_flight)! } : {}),
    outsideWindow: num(t.n_outside_window)!,
  };
  const throughput: Throughput = {
    requestsPerS: num(t.request_throughput_rps),
    outputTokensPerS: num(t.output_tokens_per_s),
    totalTokensPerS: num(t.total_tokens_per_s),
    maxOutputTokensPerS1sBin: num(t.max_output_tokens_per_s_1s_bin),
    outputTokens: num(t.output_tokens)!,
    inputTokens: num(t.input_tokens)!,
  };

  const latencyRows = await store.query(
    `select metric, n, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms, max_ms,
       percentile_method
     from run_latency_summary where run_id = $1 order by metric_order`,
    [runId],
  );
  const latency: LatencyRow[] = latencyRows.map((l) => ({
    metric: l.metric as LatencyMetric,
    n: num(l.n)!,
    meanMs: num(l.mean_ms),
    p50Ms: num(l.p50_ms),
    p90Ms: num(l.p90_ms),
    p95Ms: num(l.p95_ms),
    p99Ms: num(l.p99_ms),
    p999Ms: num(l.p999_ms),
    maxMs: num(l.max_ms),
  }));
  const percentileMethod = latencyRows.length > 0
    ? latencyRows[0].percentile_method as string
    : "quantile_cont";

  let sloSummary: SloSummary | null = null;
  if (slo !== undefined) {
    const s = await viewRow(
      store,
      "slo_attainment",
      `select n_counted, n_met, n_excluded_cancelled, n_excluded_failed, n_outside_window,
         attainment, goodput_rps, token_goodput_tokens_per_s, failure_policy
       from slo_attainment($1, $2, $3, itl_ms_max := $4, failure_policy := $5)
       where run_id = $6`,
      [
        slo.ttftMs ?? null,
        slo.tpotMs ?? null,
        slo.e2eMs ?? null,
        slo.itlMs ?? null,
        options.failurePolicy ?? DEFAULT_FAILURE_POLICY,
        runId,
      ],
    );
    const failurePolicy = s.failure_policy as string;
    sloSummary = {
      bounds: { ...slo },
      failurePolicy,
      failurePolicyText: describeFailurePolicy(failurePolicy),
      counted: num(s.n_counted)!,
      met: num(s.n_met)!,
      excludedCancelled: num(s.n_excluded_cancelled)!,
      excludedFailed: num(s.n_excluded_failed)!,
      outsideWindow: num(s.n_outside_window)!,
      attainment: num(s.attainment),
      goodputRps: num(s.goodput_rps),
      tokenGoodputPerS: num(s.token_goodput_tokens_per_s),
    };
  }

  const fidelity = await readFidelity(store, runId);
  return {
    run,
    window,
    counts,
    throughput,
    latency,
    percentileMethod,
    slo: sloSummary,
    notes: explain(run, window, counts, latency, sloSummary),
    calibration: await latestCalibration(store),
    fidelity,
    verdict: fidelityVerdict(fidelity),
    failures: await readFailures(store, runId),
  };
}

/** Reads the single row a per-run view has for the run; its absence means the views are stale. */
async function viewRow(
  store: ReportSource,
  view: string,
  sql: string,
  params: DuckDBValue[],
): Promise<Record<string, DuckDBValue>> {
  const rows = await store.query(sql, params);
  if (rows.length !== 1) {
    throw new Error(
      `View ${view} in "${store.path}" returned ${rows.length} rows for run "${
        params[params.length - 1]
      }", expected 1: reinstall the views with installViews`,
    );
  }
  return rows[0];
}

function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}

function big(v: DuckDBValue): bigint | null {
  if (v === null) return null;
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  throw new Error(
    `Expected an integer from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}

function str(v: DuckDBValue): string | null {
  return v === null ? null : String(v);
}
