/**
 * The full report of one run: the summary plus anchors, latency CDFs, the per-second time
 * series, fidelity checks, a per-request timeline for small runs and the sweep it belongs to.
 *
 * Every number is read from a view of `reports/sql/`; this module moves rows into typed objects
 * for the renderers and computes nothing.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { FailurePolicy } from "./failure_policy.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";
import { type RunSummary, summarizeRun } from "./summary.ts";
import { readSweep, type SweepReport } from "./sweep.ts";

/** One row of `run_anchor_latency_summary` (ms; `null` statistics when `n` is 0). */
export interface AnchorRow {
  tool: string;
  metric: string;
  /** The tokentrace metric with the identical definition, else `null`. */
  sameAs: string | null;
  n: number;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** One point of `run_latency_cdf`. */
export interface CdfPoint {
  metric: string;
  /** 0..1. */
  fraction: number;
  valueMs: number | null;
  n: number;
}

/** One 1 s bin of `run_timeseries`. */
export interface TimeseriesRow {
  /** Seconds since the run's first send. */
  binStartS: number;
  inWindow: boolean;
  sent: number;
  completed: number;
  failed: number;
  outputTokensPerS: number;
  inFlight: number;
  nLatency: number;
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
  tpotP50Ms: number | null;
  tpotP99Ms: number | null;
  scheduleLagMaxMs: number | null;
}

/** One check of `run_fidelity`. */
export interface FidelityCheck {
  name: string;
  value: number | null;
  unit: string;
  threshold: number | null;
  n: number;
  /** `null` = unknown (no data or no threshold). */
  flagged: boolean | null;
  /** What the check measures, in words. */
  description: string;
}

/** One request of the per-request timeline; seconds since the run's first send. */
export interface TimelineRequest {
  reqId: string;
  status: string;
  sentS: number;
  firstTokenS: number | null;
  /** Done, else last token, else `null`. */
  endS: number | null;
}

/** Options of {@linkcode collectRunReport}. */
export interface RunReportOptions {
  slo?: Slo;
  failurePolicy?: FailurePolicy;
  /** Runs with at most this many requests get a per-request timeline. Default 200. */
  timelineLimit?: number;
}

/** Everything the markdown, JSON and HTML renderers show about one run. */
export interface RunReport {
  summary: RunSummary;
  anchors: AnchorRow[];
  cdf: CdfPoint[];
  timeseries: TimeseriesRow[];
  fidelity: FidelityCheck[];
  /** `null` when the run has more requests than the limit. */
  timeline: TimelineRequest[] | null;
  timelineLimit: number;
  /** The sweep the run is a point of, else `null`. */
  sweep: SweepReport | null;
}

const FIDELITY_TEXT: Record<string, string> = {
  run_status: "the run did not complete (aborted, failed or still running)",
  schedule_lag_p99_ms:
    "p99 of send time minus planned time: the pacer kept the schedule",
  send_rate_deviation:
    "achieved send rate vs the schedule's rate (|ratio - 1|)",
  input_length_mismatch_share:
    "completed requests whose server-reported prompt length differs from the plan",
  output_length_mismatch_share:
    "completed requests whose output length differs from the plan",
  usage_vs_stream_mismatch_share:
    "completed requests whose reported completion tokens differ from the tokens streamed",
  failed_share: "sent requests that ended in error or timeout",
  cached_prompt_share:
    "prompt tokens the server reported as cached (the reuse implied by the trace is not recorded)",
  harness_floor_ttft_p50_ms:
    "harness floor against a zero-latency backend: not measured per run (docs/perf.md)",
  skipped_trace_rows:
    "bad trace rows left out under --on-bad-row skip: the run did not replay the whole trace",
};

/**
 * Reads the full report of `runId`.
 *
 * @example
 * ```ts
 * import { Store } from "../harness/store.ts";
 * import { openSnapshot } from "./snapshot.ts";
 * import { collectRunReport } from "./run_report.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * const snapshot = await openSnapshot(store);
 * const report = await collectRunReport(snapshot, "r1", { slo: { ttftMs: 200 } });
 * console.log(report.fidelity.length, report.timeline); // 10 []
 * snapshot.close();
 * store.close();
 * ```
 */
export async function collectRunReport(
  source: ReportSource,
  runId: string,
  options: RunReportOptions = {},
): Promise<RunReport> {
  const summary = await summarizeRun(source, runId, options.slo, {
    failurePolicy: options.failurePolicy,
  });
  const anchors = (await source.query(
    `select tool, metric, same_as, n, mean_ms, p50_ms, p90_ms, p99_ms, max_ms
     from run_anchor_latency_summary where run_id = $1 order by metric_order`,
    [runId],
  )).map((r): AnchorRow => ({
    tool: r.tool as string,
    metric: r.metric as string,
    sameAs: r.same_as === null ? null : String(r.same_as),
    n: num(r.n)!,
    meanMs: num(r.mean_ms),
    p50Ms: num(r.p50_ms),
    p90Ms: num(r.p90_ms),
    p99Ms: num(r.p99_ms),
    maxMs: num(r.max_ms),
  }));
  const cdf = (await source.query(
    `select metric, cumulative_fraction, value_ms, n from run_latency_cdf
     where run_id = $1 order by metric_order, level_index`,
    [runId],
  )).map((r): CdfPoint => ({
    metric: r.metric as string,
    fraction: num(r.cumulative_fraction)!,
    valueMs: num(r.value_ms),
    n: num(r.n)!,
  }));
  const timeseries = (await source.query(
    `select * from run_timeseries where run_id = $1 order by bin_index`,
    [runId],
  )).map((r): TimeseriesRow => ({
    binStartS: num(r.bin_start_s)!,
    inWindow: r.in_window === true,
    sent: num(r.n_sent)!,
    completed: num(r.n_completed)!,
    failed: num(r.n_failed)!,
    outputTokensPerS: num(r.output_tokens_per_s)!,
    inFlight: num(r.in_flight_at_bin_end)!,
    nLatency: num(r.n_latency)!,
    ttftP50Ms: num(r.ttft_p50_ms),
    ttftP99Ms: num(r.ttft_p99_ms),
    tpotP50Ms: num(r.tpot_p50_ms),
    tpotP99Ms: num(r.tpot_p99_ms),
    scheduleLagMaxMs: num(r.schedule_lag_max_ms),
  }));
  const fidelity = (await source.query(
    `select check_name, value, unit, threshold, n, flagged from run_fidelity
     where run_id = $1 order by check_order`,
    [runId],
  )).map((r): FidelityCheck => ({
    name: r.check_name as string,
    value: num(r.value),
    unit: r.unit as string,
    threshold: num(r.threshold),
    n: num(r.n)!,
    flagged: r.flagged === null ? null : r.flagged === true,
    description: FIDELITY_TEXT[r.check_name as string] ?? "",
  }));
  const timelineLimit = options.timelineLimit ?? 200;
  const nRequests = summary.counts.total + summary.counts.outsideWindow;
  const timeline = nRequests > timelineLimit ? null : (await source.query(
    `select m.req_id, m.status,
       (m.sent_ns - w.first_sent_ns) / 1e9 as sent_s,
       (m.first_token_ns - w.first_sent_ns) / 1e9 as first_token_s,
       (m.completion_ns - w.first_sent_ns) / 1e9 as end_s
     from request_metrics as m join run_window as w on w.run_id = m.run_id
     where m.run_id = $1 and m.sent_ns is not null
     order by m.sent_ns, m.req_id`,
    [runId],
  )).map((r): TimelineRequest => ({
    reqId: r.req_id as string,
    status: r.status as string,
    sentS: num(r.sent_s)!,
    firstTokenS: num(r.first_token_s),
    endS: num(r.end_s),
  }));
  const sweep = summary.run.sweepId === null
    ? null
    : await readSweep(source, summary.run.sweepId).catch(() => null);
  return {
    summary,
    anchors,
    cdf,
    timeseries,
    fidelity,
    timeline,
    timelineLimit,
    sweep,
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
