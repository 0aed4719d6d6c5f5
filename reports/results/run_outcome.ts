/**
 * Whether a finished run failed as a measurement for CI: no request succeeded, or more failed
 * than `--max-error-rate` allows. `run`, `run --suite` and the bench exit non-zero on it.
 *
 * The rate is the fidelity check `failed_share` of view `run_fidelity` (errors and timeouts
 * over sent requests); this module only compares it with the limit and words the outcome.
 *
 * @module
 */
import type { RunSummary } from "./run_summary.ts";

/**
 * Why the run failed, or `null` when it did not. `maxErrorRate` is a fraction 0..1 (absent: only
 * a run without any successful request fails).
 *
 * @example
 * ```ts ignore
 * const why = runFailure(await summarizeRun(snapshot, runId), 0.05);
 * if (why !== null) console.error(why);
 * ```
 */
export function runFailure(
  summary: RunSummary,
  maxErrorRate?: number,
): string | null {
  const check = summary.fidelity.find((c) => c.name === "failed_share");
  const sent = check?.n ?? 0;
  const rate = check?.value ?? null;
  const f = summary.failures;
  const statuses = f.httpStatuses.map((s) => `${s.key} x${s.n}`).join(", ");
  const why = f.failed === 0
    ? ""
    : `: ${f.kinds.map((k) => `${k.key} x${k.n}`).join(", ")}; ${statuses}`;
  const id = summary.run.runId;
  const where =
    `(the summary lists the messages; all of them: select * from run_errors where run_id = '${id}')`;
  const requests = summary.counts.total + summary.counts.outsideWindow;
  if (requests > 0 && summary.counts.ok === 0) {
    return `Run ${id}: no request succeeded (${f.failed} of ${sent} sent failed${why}) ${where}`;
  }
  if (maxErrorRate !== undefined && rate !== null && rate > maxErrorRate) {
    return `Run ${id}: ${
      (rate * 100).toFixed(1)
    }% of ${sent} sent requests failed${why}, ` +
      `above --max-error-rate ${maxErrorRate} ${where}`;
  }
  return null;
}
