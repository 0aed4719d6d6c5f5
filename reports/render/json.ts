/**
 * Renders a {@linkcode RunSummary} as the versioned JSON report `tokentrace.report/v2`.
 *
 * Shape (field names follow the SQL views: snake_case with units in the name):
 *
 * ```text
 * {
 *   "schema": "tokentrace.report/v2",
 *   "headline": string,   // goodput, attainment, SLO, "fidelity OK" | "fidelity FLAGGED (...)"
 *   "run": { run_id, label, backend, status, incomplete, started_at, finished_at, end_reason,
 *            tool_version, git_rev, clock_origin_unix_ns, sweep_id, suite, scenario,
 *            group: null | { group_id, label, index, repeats } },
 *   "window": { start_ns, end_ns, seconds, policy, warmup_s, cooldown_s, requests_outside },
 *   "requests": { total, ok, error, timeout, cancelled },   // inside the window
 *   "throughput": { request_throughput_rps, output_tokens_per_s, total_tokens_per_s,
 *                   max_output_tokens_per_s_1s_bin, output_tokens, input_tokens },
 *   "latency": { unit: "ms", population: "status ok", percentile_method,
 *                rows: [{ metric, n, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms, max_ms }] },
 *   "slo": null | { bounds: { ttft_ms, tpot_ms, e2e_ms, itl_ms }, inclusive: true,
 *                   failure_policy, failure_policy_text, n_counted, n_met, n_excluded_cancelled,
 *                   n_excluded_failed, n_outside_window, attainment, goodput_rps,
 *                   token_goodput_tokens_per_s },
 *   "notes": [string],
 *   "fidelity": { ok, reasons: [string],          // ok: no check flagged (run_fidelity)
 *                 checks: [{ check, value, unit, threshold, n, flagged, description }] },
 *   "failures": { failed, kinds: [{ key, n, share }], http_statuses: [...], messages: [...],
 *                 distinct_messages },             // run_errors; messages: the 3 commonest
 *   // only in full reports (`report --format json` and `run --json`, from collectRunReport):
 *   "anchors"?: [{ tool, metric, same_as, n, mean_ms, p50_ms, p90_ms, p99_ms, max_ms }],
 *   "lengths"?: [{ metric, n, mean, p50, p90, p99, min, max }],      // tokens, run_length_summary
 *   "config"?: { workload, options, backend_info, host },           // as the run recorded them
 *   "timeseries"?: [{ bin_start_s, in_window, n_sent, n_completed, n_failed, output_tokens_per_s,
 *                     in_flight_at_bin_end, n_latency, ttft_p50_ms, ttft_p99_ms, tpot_p50_ms,
 *                     tpot_p99_ms, schedule_lag_max_ms }],
 *   "sweep"?: null | { sweep_id, label, axis, target_attainment, failure_policy, stop_reason,
 *                      capacity: { capacity_rps, capacity_rps_per_gpu, gpus, bound, lower_load_rps,
 *                                  lower_attainment, upper_load_rps, upper_attainment },
 *                      points: [{ run_id, label, value, offered_rps, load_rps, n_counted, n_met,
 *                                 attainment, goodput_rps, request_throughput_rps,
 *                                 ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms,
 *                                 e2e_p50_ms, e2e_p99_ms }] }
 * }
 * ```
 *
 * Field meanings are those of the SQL views the values come from (`reports/sql/`, one file per
 * view, each opening with its definition): run_window, run_throughput, run_latency_summary,
 * slo_attainment, run_anchor_latency_summary, run_fidelity, run_timeseries, sweep_attainment and
 * sweep_capacity.
 *
 * Value rules, the same everywhere: every `*_ns` field is a decimal string (an exact int64:
 * Unix-epoch nanoseconds exceed 2^53); every other number is a JSON number; a missing value
 * (SQL NULL, an absent SLO bound) is `null`, never 0; times of day are ISO 8601 UTC strings.
 * A change that removes or retypes a field bumps the version; adding fields does not. v2 (issue
 * 12) made `fidelity` an object with `ok` and `reasons` (v1: the list of checks, now
 * `fidelity.checks`) and added `headline`, `failures`, `run.group`, `lengths` and `config`.
 *
 * @module
 */
import type { RunReport } from "../results/run_report.ts";
import type { RunSummary } from "../results/run_summary.ts";
import { runHeadline } from "./headline.ts";
import type { ReportJsonV2 } from "./report_json_v2.ts";
export type {
  FailureCountJson,
  ReportJsonV2,
  ReportLatencyRowV2,
} from "./report_json_v2.ts";

/** The schema id written into every report of this shape. */
export const REPORT_SCHEMA = "tokentrace.report/v2";

/**
 * Converts a summary to the {@linkcode ReportJsonV2} object (plain JSON values, no bigint).
 *
 * @example
 * ```ts
 * import { toReportJson } from "./json.ts";
 * import type { RunSummary } from "../results/run_summary.ts";
 * const summary: RunSummary = {
 *   run: {
 *     runId: "r1", label: null, backend: "openai", status: "running", incomplete: true,
 *     startedAt: "2026-11-20T10:00:00.000Z", finishedAt: null, endReason: null,
 *     toolVersion: "0.1.0", gitRev: null, clockOriginUnixNs: 1_795_000_000_000_000_000n,
 *     sweepId: null, suite: null, scenario: null, group: null,
 *   },
 *   window: {
 *     startNs: null, endNs: null, seconds: null, policy: "first_sent_to_last_completion",
 *     warmupS: 0, cooldownS: 0,
 *   },
 *   counts: { total: 0, ok: 0, error: 0, timeout: 0, cancelled: 0, outsideWindow: 0 },
 *   throughput: {
 *     requestsPerS: null, outputTokensPerS: null, totalTokensPerS: null,
 *     maxOutputTokensPerS1sBin: null, outputTokens: 0, inputTokens: 0,
 *   },
 *   latency: [],
 *   percentileMethod: "quantile_cont",
 *   slo: null,
 *   notes: ["no requests recorded"],
 *   fidelity: [],
 *   verdict: { ok: true, reasons: [] },
 *   failures: { failed: 0, kinds: [], httpStatuses: [], messages: [], distinctMessages: 0 },
 * };
 * console.log(toReportJson(summary).run.clock_origin_unix_ns); // "1795000000000000000"
 * ```
 */
export function toReportJson(summary: RunSummary): ReportJsonV2 {
  const { run, window, counts, throughput: tp, slo } = summary;
  const c = summary.calibration;
  const calibration = c === undefined ? {} : {
    calibration: c === null ? null : {
      created_at: c.createdAt,
      rate_rps: c.rateRps,
      streams: c.streams,
      workers: c.workers,
      ttft_err_p99_ms: c.ttftErrP99Ms,
      token_err_p99_ms: c.tokenErrP99Ms,
      gap_err_p99_ms: c.gapErrP99Ms,
      schedule_lag_p99_ms: c.scheduleLagP99Ms,
    },
  };
  const counted = (rows: RunSummary["failures"]["kinds"]) =>
    rows.map((r) => ({ key: r.key, n: r.n, share: r.share }));
  return {
    schema: REPORT_SCHEMA,
    headline: runHeadline(summary),
    run: {
      run_id: run.runId,
      label: run.label,
      backend: run.backend,
      status: run.status,
      incomplete: run.incomplete,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      end_reason: run.endReason,
      tool_version: run.toolVersion,
      git_rev: run.gitRev,
      clock_origin_unix_ns: run.clockOriginUnixNs.toString(),
      sweep_id: run.sweepId,
      suite: run.suite,
      scenario: run.scenario,
      group: run.group === null ? null : {
        group_id: run.group.groupId,
        label: run.group.label,
        index: run.group.index,
        repeats: run.group.repeats,
      },
    },
    window: {
      start_ns: nsString(window.startNs),
      end_ns: nsString(window.endNs),
      seconds: window.seconds,
      policy: window.policy,
      warmup_s: window.warmupS,
      cooldown_s: window.cooldownS,
      requests_outside: counts.outsideWindow,
    },
    requests: {
      total: counts.total,
      ok: counts.ok,
      error: counts.error,
      timeout: counts.timeout,
      cancelled: counts.cancelled,
    },
    throughput: {
      request_throughput_rps: tp.requestsPerS,
      output_tokens_per_s: tp.outputTokensPerS,
      total_tokens_per_s: tp.totalTokensPerS,
      max_output_tokens_per_s_1s_bin: tp.maxOutputTokensPerS1sBin,
      output_tokens: tp.outputTokens,
      input_tokens: tp.inputTokens,
    },
    latency: {
      unit: "ms",
      population: "status ok",
      percentile_method: summary.percentileMethod,
      rows: summary.latency.map((r) => ({
        metric: r.metric,
        n: r.n,
        mean_ms: r.meanMs,
        p50_ms: r.p50Ms,
        p90_ms: r.p90Ms,
        p95_ms: r.p95Ms,
        p99_ms: r.p99Ms,
        p999_ms: r.p999Ms,
        max_ms: r.maxMs,
      })),
    },
    slo: slo === null ? null : {
      bounds: {
        ttft_ms: slo.bounds.ttftMs ?? null,
        tpot_ms: slo.bounds.tpotMs ?? null,
        e2e_ms: slo.bounds.e2eMs ?? null,
        itl_ms: slo.bounds.itlMs ?? null,
      },
      inclusive: true,
      failure_policy: slo.failurePolicy,
      failure_policy_text: slo.failurePolicyText,
      n_counted: slo.counted,
      n_met: slo.met,
      n_excluded_cancelled: slo.excludedCancelled,
      n_excluded_failed: slo.excludedFailed,
      n_outside_window: slo.outsideWindow,
      attainment: slo.attainment,
      goodput_rps: slo.goodputRps,
      token_goodput_tokens_per_s: slo.tokenGoodputPerS,
    },
    notes: [...summary.notes],
    fidelity: {
      ok: summary.verdict.ok,
      reasons: [...summary.verdict.reasons],
      checks: summary.fidelity.map((f) => ({
        check: f.name,
        value: f.value,
        unit: f.unit,
        threshold: f.threshold,
        n: f.n,
        flagged: f.flagged,
        description: f.description,
      })),
    },
    failures: {
      failed: summary.failures.failed,
      kinds: counted(summary.failures.kinds),
      http_statuses: counted(summary.failures.httpStatuses),
      messages: counted(summary.failures.messages),
      distinct_messages: summary.failures.distinctMessages,
    },
    ...calibration,
  };
}

/**
 * Renders the summary as pretty-printed `tokentrace.report/v1` JSON text with a trailing newline.
 *
 * @example
 * ```ts
 * import { renderJson } from "./json.ts";
 * import type { RunSummary } from "../results/run_summary.ts";
 * const summary: RunSummary = {
 *   run: {
 *     runId: "r1", label: null, backend: "openai", status: "completed", incomplete: false,
 *     startedAt: "2026-11-20T10:00:00.000Z", finishedAt: null, endReason: null,
 *     toolVersion: null, gitRev: null, clockOriginUnixNs: 0n,
 *     sweepId: null, suite: null, scenario: null, group: null,
 *   },
 *   window: {
 *     startNs: null, endNs: null, seconds: null, policy: "first_sent_to_last_completion",
 *     warmupS: 0, cooldownS: 0,
 *   },
 *   counts: { total: 0, ok: 0, error: 0, timeout: 0, cancelled: 0, outsideWindow: 0 },
 *   throughput: {
 *     requestsPerS: null, outputTokensPerS: null, totalTokensPerS: null,
 *     maxOutputTokensPerS1sBin: null, outputTokens: 0, inputTokens: 0,
 *   },
 *   latency: [],
 *   percentileMethod: "quantile_cont",
 *   slo: null,
 *   notes: [],
 *   fidelity: [],
 *   verdict: { ok: true, reasons: [] },
 *   failures: { failed: 0, kinds: [], httpStatuses: [], messages: [], distinctMessages: 0 },
 * };
 * console.log(JSON.parse(renderJson(summary)).schema); // tokentrace.report/v2
 * ```
 */
export function renderJson(summary: RunSummary): string {
  return JSON.stringify(toReportJson(summary), null, 2) + "\n";
}

function nsString(v: bigint | null): string | null {
  return v === null ? null : v.toString();
}

/**
 * Converts a full report (summary plus anchors, fidelity, time series and sweep) to
 * `tokentrace.report/v1` JSON: the summary's fields and the optional sections.
 *
 * @example
 * ```ts ignore
 * const json = toFullReportJson(await collectRunReport(snapshot, runId));
 * ```
 */
export function toFullReportJson(report: RunReport): ReportJsonV2 {
  const sweep = report.sweep;
  return {
    ...toReportJson(report.summary),
    anchors: report.anchors.map((a) => ({
      tool: a.tool,
      metric: a.metric,
      same_as: a.sameAs,
      n: a.n,
      mean_ms: a.meanMs,
      p50_ms: a.p50Ms,
      p90_ms: a.p90Ms,
      p99_ms: a.p99Ms,
      max_ms: a.maxMs,
    })),
    lengths: report.lengths.map((l) => ({ ...l })),
    config: {
      workload: report.config.workload,
      options: report.config.options,
      backend_info: report.config.backendInfo,
      host: report.config.host,
    },
    timeseries: report.timeseries.map((t) => ({
      bin_start_s: t.binStartS,
      in_window: t.inWindow,
      n_sent: t.sent,
      n_completed: t.completed,
      n_failed: t.failed,
      output_tokens_per_s: t.outputTokensPerS,
      in_flight_at_bin_end: t.inFlight,
      n_latency: t.nLatency,
      ttft_p50_ms: t.ttftP50Ms,
      ttft_p99_ms: t.ttftP99Ms,
      tpot_p50_ms: t.tpotP50Ms,
      tpot_p99_ms: t.tpotP99Ms,
      schedule_lag_max_ms: t.scheduleLagMaxMs,
    })),
    sweep: sweep === null ? null : {
      sweep_id: sweep.sweepId,
      label: sweep.label,
      axis: sweep.axis,
      target_attainment: sweep.capacity.targetAttainment,
      failure_policy: sweep.failurePolicy,
      stop_reason: sweep.stopReason,
      capacity: {
        capacity_rps: sweep.capacity.capacityRps,
        capacity_rps_per_gpu: sweep.capacity.capacityRpsPerGpu,
        gpus: sweep.capacity.gpus,
        bound: sweep.capacity.bound,
        lower_load_rps: sweep.capacity.lowerLoadRps,
        lower_attainment: sweep.capacity.lowerAttainment,
        upper_load_rps: sweep.capacity.upperLoadRps,
        upper_attainment: sweep.capacity.upperAttainment,
      },
      points: sweep.points.map((p) => ({
        run_id: p.runId,
        label: p.label,
        value: p.value,
        offered_rps: p.offeredRps,
        load_rps: p.loadRps,
        n_counted: p.counted,
        n_met: p.met,
        attainment: p.attainment,
        goodput_rps: p.goodputRps,
        request_throughput_rps: p.throughputRps,
        ttft_p50_ms: p.ttftP50Ms,
        ttft_p99_ms: p.ttftP99Ms,
        tpot_p50_ms: p.tpotP50Ms,
        tpot_p99_ms: p.tpotP99Ms,
        e2e_p50_ms: p.e2eP50Ms,
        e2e_p99_ms: p.e2eP99Ms,
      })),
    },
  };
}

/**
 * Renders a full report as pretty-printed `tokentrace.report/v1` JSON with a trailing newline.
 *
 * @example
 * ```ts ignore
 * console.log(renderFullJson(await collectRunReport(snapshot, runId)));
 * ```
 */
export function renderFullJson(report: RunReport): string {
  return JSON.stringify(toFullReportJson(report), null, 2) + "\n";
}
