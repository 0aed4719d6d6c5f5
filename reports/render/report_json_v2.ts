/**
 * The shape of the JSON report `tokentrace.report/v2` as TypeScript types (the rules and the
 * renderer are in reports/render/json.ts).
 *
 * @module
 */

/** One key of a failure breakdown in {@linkcode ReportJsonV2}. */
export interface FailureCountJson {
  /** An error kind, `HTTP <code>` or `no HTTP status`, or a message (see `FailureCount.key`). */
  key: string;
  /** Failed requests with this key. */
  n: number;
  /** Fraction 0..1 of the failed requests. */
  share: number;
}

/** One latency row of {@linkcode ReportJsonV2}. */
export interface ReportLatencyRowV2 {
  /** Latency metric (`ttft_ms`, `tpot_ms`, ...; `LatencyMetric`). */
  metric: string;
  /** Samples behind the statistics. */
  n: number;
  /** Mean, ms; `null` when `n` is 0. */
  mean_ms: number | null;
  /** Median, ms. */
  p50_ms: number | null;
  /** 90th percentile, ms. */
  p90_ms: number | null;
  /** 95th percentile, ms. */
  p95_ms: number | null;
  /** 99th percentile, ms. */
  p99_ms: number | null;
  /** 99.9th percentile, ms. */
  p999_ms: number | null;
  /** Maximum, ms. */
  max_ms: number | null;
}

/** The JSON report, version 2 (see reports/render/json.ts for the rules). */
export interface ReportJsonV2 {
  /** Schema id of this version. */
  schema: "tokentrace.report/v2";
  /** The headline line (reports/render/headline.ts). */
  headline: string;
  /**
   * Who the run is and how it ended (`RunInfo`); times ISO 8601 UTC, `clock_origin_unix_ns` a
   * decimal string.
   */
  run: {
    run_id: string;
    label: string | null;
    backend: string;
    status: string;
    incomplete: boolean;
    started_at: string;
    finished_at: string | null;
    end_reason: string | null;
    tool_version: string | null;
    git_rev: string | null;
    clock_origin_unix_ns: string;
    sweep_id: string | null;
    suite: string | null;
    scenario: string | null;
    group: null | {
      group_id: string;
      label: string | null;
      index: number;
      repeats: number;
    };
  };
  /**
   * The measurement window (`MeasurementWindow`); `start_ns` / `end_ns` run clock ns as decimal
   * strings.
   */
  window: {
    start_ns: string | null;
    end_ns: string | null;
    seconds: number | null;
    policy: string;
    warmup_s: number;
    cooldown_s: number;
    /** Requests the warm-up / cool-down trims left out (not in `requests`). */
    requests_outside: number;
  };
  /** In-window requests by status (`RequestCounts`). */
  requests: {
    total: number;
    ok: number;
    error: number;
    timeout: number;
    cancelled: number;
  };
  /** Throughput over the window, completed requests only (`Throughput`). */
  throughput: {
    request_throughput_rps: number | null;
    output_tokens_per_s: number | null;
    total_tokens_per_s: number | null;
    max_output_tokens_per_s_1s_bin: number | null;
    output_tokens: number;
    input_tokens: number;
  };
  /** The latency table: ms, completed (status ok) requests. */
  latency: {
    unit: "ms";
    population: "status ok";
    percentile_method: string;
    rows: ReportLatencyRowV2[];
  };
  /** SLO attainment and goodput (`SloSummary`); `null` when no SLO was given. */
  slo: null | {
    bounds: {
      ttft_ms: number | null;
      tpot_ms: number | null;
      e2e_ms: number | null;
      itl_ms: number | null;
    };
    inclusive: true;
    failure_policy: string;
    failure_policy_text: string;
    n_counted: number;
    n_met: number;
    n_excluded_cancelled: number;
    n_excluded_failed: number;
    n_outside_window: number;
    attainment: number | null;
    goodput_rps: number | null;
    token_goodput_tokens_per_s: number | null;
  };
  /** The harness's error floor from the newest `tokentrace calibrate` in the database (ms). */
  calibration?: {
    created_at: string;
    rate_rps: number;
    streams: number;
    workers: number;
    ttft_err_p99_ms: number | null;
    token_err_p99_ms: number | null;
    gap_err_p99_ms: number | null;
    schedule_lag_p99_ms: number | null;
  } | null;
  /** Why parts of the report are empty or should be read with care. */
  notes: string[];
  /** The checks of view `run_fidelity` and their verdict. */
  fidelity: {
    /** `true` when no check is flagged. */
    ok: boolean;
    reasons: string[];
    checks: {
      check: string;
      value: number | null;
      unit: string;
      threshold: number | null;
      n: number;
      flagged: boolean | null;
      description: string;
    }[];
  };
  /** Why requests failed (view `run_errors`; `FailureSummary`). */
  failures: {
    failed: number;
    kinds: FailureCountJson[];
    http_statuses: FailureCountJson[];
    messages: FailureCountJson[];
    distinct_messages: number;
  };
  /** Planned and realized lengths, tokens (`run_length_summary`); full reports only. */
  lengths?: {
    metric: string;
    n: number;
    mean: number | null;
    p50: number | null;
    p90: number | null;
    p99: number | null;
    min: number | null;
    max: number | null;
  }[];
  /** The configuration the run recorded (`RunConfiguration`); full reports only. */
  config?: {
    workload: unknown;
    options: unknown;
    backend_info: unknown;
    host: unknown;
  };
  /**
   * Latencies under other tools' metric names (`run_anchor_latency_summary`); full reports only.
   */
  anchors?: {
    tool: string;
    metric: string;
    same_as: string | null;
    n: number;
    mean_ms: number | null;
    p50_ms: number | null;
    p90_ms: number | null;
    p99_ms: number | null;
    max_ms: number | null;
  }[];
  /** Per-second bins of `run_timeseries`, keyed by its column names; full reports only. */
  timeseries?: Record<string, number | boolean | null>[];
  /** The sweep the run is a point of, else `null` (`SweepReport`); full reports only. */
  sweep?: null | {
    sweep_id: string;
    label: string | null;
    axis: string;
    target_attainment: number;
    failure_policy: string;
    stop_reason: string | null;
    capacity: {
      capacity_rps: number | null;
      capacity_rps_per_gpu: number | null;
      gpus: number;
      bound: string;
      lower_load_rps: number | null;
      lower_attainment: number | null;
      upper_load_rps: number | null;
      upper_attainment: number | null;
    };
    points: {
      run_id: string;
      label: string | null;
      value: number;
      offered_rps: number | null;
      load_rps: number | null;
      n_counted: number;
      n_met: number;
      attainment: number | null;
      goodput_rps: number | null;
      request_throughput_rps: number | null;
      ttft_p50_ms: number | null;
      ttft_p99_ms: number | null;
      tpot_p50_ms: number | null;
      tpot_p99_ms: number | null;
      e2e_p50_ms: number | null;
      e2e_p99_ms: number | null;
    }[];
  };
}
