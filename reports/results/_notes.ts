/**
 * The notes of a run summary: why parts of it are empty or should be read with care (private to
 * reports/results/).
 *
 * @module
 */
import type {
  LatencyMetric,
  LatencyRow,
  MeasurementWindow,
  RequestCounts,
  RunInfo,
  SloSummary,
} from "./run_summary.ts";

/** Notes on empty or partial results, in the order a reader meets them. */
export function explain(
  run: RunInfo,
  window: MeasurementWindow,
  counts: RequestCounts,
  latency: LatencyRow[],
  slo: SloSummary | null,
): string[] {
  const notes: string[] = [];
  const reason = run.endReason === null ? "" : ` (${run.endReason})`;
  if (run.status === "running") {
    notes.push(
      "run status is running: it has not finished or its process died; the numbers cover " +
        "only the rows recorded so far",
    );
  } else if (run.status === "aborted") {
    notes.push(
      `run was aborted${reason}: the numbers cover only the rows recorded before it stopped`,
    );
  } else if (run.status === "failed") {
    notes.push(`run failed${reason}: the numbers cover only the rows recorded`);
  }
  if (counts.total === 0 && counts.outsideWindow === 0) {
    notes.push(
      "no requests recorded: window, throughput, latency and SLO results are empty",
    );
    return notes;
  }
  if (window.warmupS > 0 || window.cooldownS > 0) {
    notes.push(
      `measurement window trimmed by ${window.warmupS} s warm-up and ${window.cooldownS} s ` +
        `cool-down: ${counts.outsideWindow} request(s) outside it are left out of every number`,
    );
  }
  if (window.seconds === null) {
    notes.push(
      "no measurement window: no request was sent or none finished or streamed a token; " +
        "rates are empty",
    );
  } else if (window.seconds === 0) {
    notes.push("measurement window has zero length: rates are empty");
  }
  if (counts.ok === 0) {
    notes.push(
      counts.total === 0
        ? "no request inside the measurement window: latency statistics are empty (n = 0)"
        : `no completed requests (status ok; ${counts.error} error, ${counts.timeout} ` +
          `timeout, ${counts.cancelled} cancelled): latency statistics are empty (n = 0)`,
    );
  } else {
    const n = (m: LatencyMetric) => latency.find((l) => l.metric === m)?.n ?? 0;
    if (n("tpot_ms") === 0) {
      notes.push(
        "no completed request has >= 2 output tokens: tpot_ms is empty",
      );
    }
    if (n("itl_ms") === 0) {
      notes.push(
        "no completed request has >= 2 token-bearing chunks: itl_ms is empty",
      );
    }
  }
  if (slo !== null) {
    if (slo.counted === 0) {
      notes.push(
        "no request counts toward the SLO under the failure policy: attainment is empty",
      );
    }
    if (slo.excludedCancelled > 0) {
      notes.push(
        `${slo.excludedCancelled} cancelled request(s) excluded from SLO attainment`,
      );
    }
    if (slo.excludedFailed > 0) {
      notes.push(
        `${slo.excludedFailed} errored or timed-out request(s) excluded from SLO attainment ` +
          `by the failure policy`,
      );
    }
  }
  return notes;
}
