/**
 * The shape of the JSON report `tokentrace.report/v2` as TypeScript types (the rules and the
 * renderer are in reports/render/json.ts).
 *
 * @module
 */

/** One key of a failure breakdown in {@linkcode ReportJsonV2}. */
export interface FailureCountJson {
  key: string;
  n: number;
  /** Fraction 0..1 of the failed requests. */
  share: number;
}

/** One latency row of {@linkcode ReportJsonV2}. */
export interface ReportLatencyRowV2 {
  metric: string;
  n: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
  max_ms: number | null;
}

/** The JSON report, version 2 (see reports/render/json.ts for the rules). */
export interface ReportJsonV2 {
  schema: "tokentrace.report/v2";
  /** The headline line (reports/render/headline.ts). */
  headline: string;
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
  requests: {
    total: number;
    ok: number;
    error: number;
    timeout: number;
    cancelled: number;
  };
  throughput: {
    request_throughput_rps: number | null;
    output_tokens_per_s: number | null;
    total_tokens_per_s: number | null;
    max_output_tokens_per_s_1s_bin: number | null;
    output_tokens: number;
    input_tokens: number;
  };
  latency: {
    unit: "ms";
    population: "status ok";
    percentile_method: string;
    rows: ReportLatencyRowV2[];
  };
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
  notes: string[];
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
  failures: {
    failed: number;
    kinds: FailureCountJson[];
    http_statuses: FailureCountJson[];
    messages: FailureCountJson[];
    distinct_messages: number;
  };
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
  config?: {
    workload: unknown;
    options: unknown;
    backend_info: unknown;
    host: unknown;
  };
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
  timeseries?: Record<string, number | boolean | null>[];
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
