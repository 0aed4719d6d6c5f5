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
import type { RunSummary } from "./run_summary.ts";
import { summarizeRun } from "./summary.ts";
import type { FidelityCheck } from "./fidelity.ts";
import { readSweep, type SweepReport } from "./sweep.ts";

/** One row of `run_anchor_latency_summary` (ms; `null` statistics when `n` is 0). */
export interface AnchorRow {
  /** The tool whose metric name this is, e.g. `vllm`, `sglang`, `aiperf`. */
  tool: string;
  /** The metric under that tool's name, e.g. `vllm_ttft_ms`. */
  metric: string;
  /** The tokentrace metric with the identical definition, else `null`. */
  sameAs: string | null;
  /** Samples (completed in-window requests, or pooled chunk gaps for ITL rows). */
  n: number;
  /** Mean, ms. */
  meanMs: number | null;
  /** Median, ms (quantile_cont). */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** Maximum, ms. */
  maxMs: number | null;
}

/** One point of `run_latency_cdf`. */
export interface CdfPoint {
  /** Latency metric: `ttft_ms`, `tpot_ms`, `itl_ms` or `e2e_ms`. */
  metric: string;
  /** 0..1. */
  fraction: number;
  /** The metric's quantile at `fraction` (quantile_cont), ms; `null` when `n` is 0. */
  valueMs: number | null;
  /** Samples of the metric's distribution (after thinning). */
  n: number;
}

/** One 1 s bin of `run_timeseries`. */
export interface TimeseriesRow {
  /** Seconds since the run's first send. */
  binStartS: number;
  /** The bin lies within the measurement window (trims applied). */
  inWindow: boolean;
  /** Requests sent in the bin, any status. */
  sent: number;
  /** Completed requests whose completion (done, else last token) is in the bin. */
  completed: number;
  /** Error and timeout requests whose reference time is in the bin. */
  failed: number;
  /** Output tokens of token-bearing events in the bin, any status, per second. */
  outputTokensPerS: number;
  /** Requests in flight at the bin's end. */
  inFlight: number;
  /** Completed requests sent in the bin: the samples of the TTFT and TPOT percentiles. */
  nLatency: number;
  /** Median TTFT of the bin's `nLatency` requests, ms. */
  ttftP50Ms: number | null;
  /** 99th percentile TTFT of the bin's `nLatency` requests, ms. */
  ttftP99Ms: number | null;
  /** Median TPOT of the bin's `nLatency` requests (those with 2+ tokens), ms. */
  tpotP50Ms: number | null;
  /** 99th percentile TPOT of the bin's `nLatency` requests (those with 2+ tokens), ms. */
  tpotP99Ms: number | null;
  /** Largest schedule lag (sent - scheduled) of the requests sent in the bin, ms. */
  scheduleLagMaxMs: number | null;
}

/** One request of the per-request timeline; seconds since the run's first send. */
export interface TimelineRequest {
  /** Request id from the trace. */
  reqId: string;
  /** Request status: `ok`, `error`, `timeout`, `cancelled` or `in_flight`. */
  status: string;
  /** Send time, s. */
  sentS: number;
  /** First token time, s; `null` when no token arrived. */
  firstTokenS: number | null;
  /** Done, else last token, else `null`. */
  endS: number | null;
}

/** One row of `run_length_summary` (tokens; `null` statistics when `n` is 0). */
export interface LengthRow {
  /**
   * Length metric: `input_tokens_planned`, `input_tokens`, `output_tokens_planned` or
   * `output_tokens`.
   */
  metric: string;
  /** Requests sampled. */
  n: number;
  /** Mean, tokens. */
  mean: number | null;
  /** Median, tokens. */
  p50: number | null;
  /** 90th percentile, tokens. */
  p90: number | null;
  /** 99th percentile, tokens. */
  p99: number | null;
  /** Minimum, tokens. */
  min: number | null;
  /** Maximum, tokens. */
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
  /** SLO bounds for the summary's attainment and goodput; absent = no SLO section. */
  slo?: Slo;
  /** Which requests count toward SLO attainment. Default `DEFAULT_FAILURE_POLICY`. */
  failurePolicy?: FailurePolicy;
  /**
   * The per-request timeline shows at most this many requests; a larger run shows every k-th
   * request by send time (k = ceil(requests / limit)), and says so. Default 200.
   */
  timelineLimit?: number;
}

/** Everything the markdown, JSON and HTML renderers show about one run. */
export interface RunReport {
  /** The run's summary (counts, throughput, latency table, SLO). */
  summary: RunSummary;
  /** Latencies under other tools' metric names (`run_anchor_latency_summary`). */
  anchors: AnchorRow[];
  /** Latency CDFs, 101 points per metric (`run_latency_cdf`). */
  cdf: CdfPoint[];
  /** Per-second time series (`run_timeseries`). */
  timeseries: TimeseriesRow[];
  /** Fidelity checks (`run_fidelity`), in check order. */
  fidelity: FidelityCheck[];
  /** Planned and realized input/output lengths. */
  lengths: LengthRow[];
  /** Requests by send time: all, or every `timelineStep`-th when there are more than the limit. */
  timeline: TimelineRequest[];
  /** The timeline limit used (`RunReportOptions.timelineLimit`, default 200). */
  timelineLimit: number;
  /** 1 when every request is shown, else k (every k-th request by send time). */
  timelineStep: number;
  /** Sent requests in all (the timeline shows `timeline.length` of them). */
  timelineTotal: number;
  /** The configuration the run recorded. */
  config: RunConfiguration;
  /** The sweep the run is a point of, else `null`. */
  sweep: SweepReport | null;
}

/**
 * Reads the full report of `runId`.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
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
