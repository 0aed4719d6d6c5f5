/**
 * The summary of one run as a typed value: {@linkcode RunSummary} and its parts (run info,
 * window, counts, throughput, latency table, SLO results), which `summarizeRun`
 * (`summary.ts`) reads from the views, `_notes.ts` explains and every renderer
 * (`reports/render/`) and the JSON output format.
 *
 * @module
 */
import type { RunStatus } from "../../harness/store.ts";
import type { Slo } from "./slo.ts";
import type { CalibrationFloor } from "./calibration.ts";
import type { FidelityCheck, FidelityVerdict } from "./fidelity.ts";
import type { FailureSummary } from "./failures.ts";

/** Who a run is and how it ended. */
export interface RunInfo {
  /** Run id (`runs.run_id`). */
  runId: string;
  /** The user's label of the run (`--label`), else `null`. */
  label: string | null;
  /** Backend name, e.g. `openai`, `webgpu`, `scripted`. */
  backend: string;
  /** Run status in `runs`: `running`, `completed`, `aborted` or `failed`. */
  status: RunStatus;
  /** `true` unless status is `completed`: numbers cover only what was recorded. */
  incomplete: boolean;
  /** ISO 8601, UTC. */
  startedAt: string;
  /** ISO 8601, UTC; `null` while running or when the process died. */
  finishedAt: string | null;
  /** Why the run ended as it did (signal, error message), else `null`. */
  endReason: string | null;
  /** tokentrace version that recorded the run, else `null`. */
  toolVersion: string | null;
  /** Git revision of the tokentrace checkout that recorded the run, else `null`. */
  gitRev: string | null;
  /** Wall clock at run-clock t = 0, nanoseconds since the Unix epoch. */
  clockOriginUnixNs: bigint;
  /** The sweep this run is a point of (`tokentrace sweep`), else `null`. */
  sweepId: string | null;
  /** Suite label and scenario of a scheduled regression run, else `null`. */
  suite: string | null;
  /** Scenario within the suite, else `null`. */
  scenario: string | null;
  /** The group of repeated runs this run is one of (`run --repeat`), else `null`. */
  group: RunGroupInfo | null;
}

/** A run's place in its group of repeated runs (table `run_groups`). */
export interface RunGroupInfo {
  /** Group id (`run_groups.group_id`). */
  groupId: string;
  /** The group's label, else `null`. */
  label: string | null;
  /** 0-based position of the run in the group. */
  index: number;
  /** Runs the group planned. */
  repeats: number;
}

/** The measurement window (view `run_window`); times on the run clock. */
export interface MeasurementWindow {
  /** Window start, run clock ns; `null` when the run has no sent request. */
  startNs: bigint | null;
  /** Window end, run clock ns; `null` when the run has no finished request. */
  endNs: bigint | null;
  /** `null` when the run has no sent or no finished request. */
  seconds: number | null;
  /** The rule that chose the bounds, e.g. `first_sent_to_last_completion`. */
  policy: string;
  /** Configured warm-up and cool-down trims in seconds (0 = none). */
  warmupS: number;
  /** Configured cool-down trim in seconds (0 = none). */
  cooldownS: number;
}

/** Requests of the run by status (view `run_throughput`). `ok` means completed. */
export interface RequestCounts {
  /** In-window requests, all statuses (in-flight included). */
  total: number;
  /** In-window completed requests. */
  ok: number;
  /** In-window requests that ended in an error. */
  error: number;
  /** In-window requests that timed out. */
  timeout: number;
  /** In-window cancelled requests. */
  cancelled: number;
  /** Sent and not ended (a run still recording, or whose process died); absent = 0. */
  inFlight?: number;
  /** Requests the warm-up / cool-down trims left out (not in `total`). */
  outsideWindow: number;
}

/** Throughput over the window, completed requests only (view `run_throughput`); `null` = no window. */
export interface Throughput {
  /** Completed requests per second. */
  requestsPerS: number | null;
  /** Output tokens of completed requests per second. */
  outputTokensPerS: number | null;
  /** Input plus output tokens of completed requests per second. */
  totalTokensPerS: number | null;
  /** Most output tokens in any 1 s bin of the window. */
  maxOutputTokensPerS1sBin: number | null;
  /**
   * Output tokens of completed in-window requests (usage when reported, else counted or planned:
   * view `request_metrics`).
   */
  outputTokens: number;
  /**
   * Input tokens of completed in-window requests (usage when reported, else counted or planned).
   */
  inputTokens: number;
}

/** The latency metrics of view `run_latency_summary`, in its order. */
export type LatencyMetric =
  | "ttft_ms"
  | "ttft_incl_queue_ms"
  | "tpot_ms"
  | "itl_ms"
  | "itl_per_token_ms"
  | "e2e_ms"
  | "normalized_latency_ms_per_token"
  | "schedule_lag_ms";

/** One row of the latency table; statistics in ms, `null` when `n` is 0. */
export interface LatencyRow {
  /** Which latency metric this row is. */
  metric: LatencyMetric;
  /** Samples behind the statistics. */
  n: number;
  /** Mean, ms. */
  meanMs: number | null;
  /** Median, ms (method in `RunSummary.percentileMethod`). */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 95th percentile, ms. */
  p95Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** 99.9th percentile, ms. */
  p999Ms: number | null;
  /** Maximum, ms. */
  maxMs: number | null;
}

/** SLO attainment and goodput (macro `slo_attainment`). */
export interface SloSummary {
  /** The bounds used (ms, inclusive; absent = no bound). */
  bounds: Slo;
  /** Machine name of the failure policy, as the macro reports it. */
  failurePolicy: string;
  /** The failure policy in words. */
  failurePolicyText: string;
  /** In-window requests the failure policy counts toward attainment. */
  counted: number;
  /** Counted requests that met every bound. */
  met: number;
  /** In-window cancelled requests the policy excludes. */
  excludedCancelled: number;
  /** Errors and timeouts the policy excludes (0 under the default policy). */
  excludedFailed: number;
  /** Requests outside the measurement window, never counted. */
  outsideWindow: number;
  /** met / counted, 0..1; `null` when nothing was counted. */
  attainment: number | null;
  /** Met requests per second of the window; `null` when the window is empty. */
  goodputRps: number | null;
  /** Output tokens of met requests per second of the window; `null` when the window is empty. */
  tokenGoodputPerS: number | null;
}

/** Everything a report shows about one run. */
export interface RunSummary {
  /** Who the run is and how it ended. */
  run: RunInfo;
  /** The measurement window every rate is over. */
  window: MeasurementWindow;
  /** Requests by status. */
  counts: RequestCounts;
  /** Throughput over the window. */
  throughput: Throughput;
  /** Completed (status ok) requests only. */
  latency: LatencyRow[];
  /** DuckDB percentile function used for the latency table, e.g. `quantile_cont`. */
  percentileMethod: string;
  /** `null` when no SLO was given. */
  slo: SloSummary | null;
  /** Why parts of the report are empty or should be read with care. */
  notes: string[];
  /**
   * The harness's own error floor from the newest `tokentrace calibrate` in this database, to
   * read the latencies against; null when none was run (absent in hand-built summaries).
   */
  calibration?: CalibrationFloor | null;
  /** The checks of view `run_fidelity`, in check order. */
  fidelity: FidelityCheck[];
  /** `fidelity OK` or FLAGGED with the reasons (the headline's last part). */
  verdict: FidelityVerdict;
  /** Why requests failed (view `run_errors`). */
  failures: FailureSummary;
}
