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
import type { FidelityCheck } from "./fidelity.ts";
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

/** One request of the per-request timeline; seconds since the run's first send. */
export interface TimelineRequest {
  reqId: string;
  status: string;
  sentS: number;
  firstTokenS: number | null;
  /** Done, else last token, else `null`. */
  endS: number | null;
}

/** One row of `run_length_summary` (tokens; `null` statistics when `n` is 0). */
export interface LengthRow {
  metric: string;
  n: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
}

/** The configuration a run recorded (`runs` JSON columns), as parsed JSON. */
export interface RunConfiguration {
  /** The workload record: source (path, sha256, ...), transforms, seed, prompts. */
  workload: unknown;
  /** The command's validated options. */
  options: unknown;
  /** What the backend said about itself (model, server arguments, engine settings). */
  backendInfo: unknown;
  /** The machine that ran it. */
  host: unknown;
}

/** Options of {@linkcode collectRunReport}. */
export interface RunReportOptions {
  slo?: Slo;
  failurePolicy?: FailurePolicy;
  /**
   * The per-request timeline shows at most this many requests; a larger run shows every k-th
   * request by send time (k = ceil(requests / limit)), and says so. Default 200.
   */
  timelineLimit?: number;
}

/** Everything the markdown, JSON and HTML renderers show about one run. */
export interface RunReport {
  summary: RunSummary;
  anchors: AnchorRow[];
  cdf: CdfPoint[];
  timeseries: TimeseriesRow[];
  fidelity: FidelityCheck[];
  /** Planned and realized input/output lengths. */
  lengths: LengthRow[];
  /** Requests by send time: all, or every `timelineStep`-th when there are more than the limit. */
  timeline: TimelineRequest[];
  timelineLimit: number;
  /** 1 when every request is shown, else k (every k-th request by send time). */
  timelineStep: number;
  /** Sent requests in all (the timeline shows `timeline.length` of them). */
  timelineTotal: number;
  config: RunConfiguration;
  /** The sweep the run is a point of, else `null`. */
  sweep: SweepReport | null;
}

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
 * console.log(report.fidelity.length, report.timeline); // 13 []
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
  // The server's own timings (when it sent them) are listed with the other tools' definitions.
  const anchors = (await source.query(
    `select tool, metric, same_as, n, mean_ms, p50_ms, p90_ms, p99_ms, max_ms from (
       select * from run_anchor_latency_summary
       union all by name select * from run_server_latency_summary
     ) where run_id = $1 order by metric_order`,
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
  const lengths = (await source.query(
    `select metric, n, mean_tokens, p50_tokens, p90_tokens, p99_tokens, min_tokens, max_tokens
     from run_length_summary where run_id = $1 order by metric_order`,
    [runId],
  )).map((r): LengthRow => ({
    metric: r.metric as string,
    n: num(r.n)!,
    mean: num(r.mean_tokens),
    p50: num(r.p50_tokens),
    p90: num(r.p90_tokens),
    p99: num(r.p99_tokens),
    min: num(r.min_tokens),
    max: num(r.max_tokens),
  }));
  const timelineLimit = options.timelineLimit ?? 200;
  const sent = Number(
    (await source.query(
      `select count(*) as n from requests where run_id = $1 and sent_ns is not null`,
      [runId],
    ))[0].n,
  );
  const timelineStep = Math.max(1, Math.ceil(sent / timelineLimit));
  const timeline = (await source.query(
    `select m.req_id, m.status,
       (m.sent_ns - w.first_sent_ns) / 1e9 as sent_s,
       (m.first_token_ns - w.first_sent_ns) / 1e9 as first_token_s,
       (m.completion_ns - w.first_sent_ns) / 1e9 as end_s
     from request_metrics as m join run_window as w on w.run_id = m.run_id
     where m.run_id = $1 and m.sent_ns is not null
     qualify (row_number() over (order by m.sent_ns, m.req_id) - 1) % $2 = 0
     order by m.sent_ns, m.req_id`,
    [runId, timelineStep],
  )).map((r): TimelineRequest => ({
    reqId: r.req_id as string,
    status: r.status as string,
    sentS: num(r.sent_s)!,
    firstTokenS: num(r.first_token_s),
    endS: num(r.end_s),
  }));
  const c = (await source.query(
    `select workload::varchar as workload, options::varchar as options,
       backend_info::varchar as backend_info, host::varchar as host
     from runs where run_id = $1`,
    [runId],
  ))[0];
  const parsed = (v: DuckDBValue) => v === null ? null : JSON.parse(String(v));
  const config: RunConfiguration = {
    workload: parsed(c.workload),
    options: parsed(c.options),
    backendInfo: parsed(c.backend_info),
    host: parsed(c.host),
  };
  const sweep = summary.run.sweepId === null
    ? null
    : await readSweep(source, summary.run.sweepId).catch(() => null);
  return {
    summary,
    anchors,
    cdf,
    timeseries,
    fidelity: summary.fidelity,
    lengths,
    timeline,
    timelineLimit,
    timelineStep,
    timelineTotal: sent,
    config,
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
