/**
 * Reports: metric views over the result database, run resolution, SLOs, run summaries and
 * their renderers.
 *
 * Metric definitions live only in `reports/sql/` (one view or macro per file, see METRICS.md).
 * Typical use:
 *
 * ```ts
 * import { Store } from "../harness/store.ts";
 * import { installViews, parseSlo, renderTerminal, resolveRun, summarizeRun } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({
 *   runId: "r1", backend: "openai", toolVersion: "0.1.0", clockOriginUnixNs: 0n,
 * });
 * await installViews(store);
 * const { runId } = await resolveRun(store);
 * const summary = await summarizeRun(store, runId, parseSlo("ttft=200,tpot=50"));
 * console.log(renderTerminal(summary));
 * store.close();
 * ```
 *
 * @module
 */
export {
  type InstalledViews,
  installViews,
  VIEW_FILES,
  type ViewFile,
  type ViewKind,
} from "./views.ts";
export { formatSlo, parseSlo, type Slo } from "./slo.ts";
export { type ResolvedRun, resolveRun, type RunMatch } from "./resolve_run.ts";
export {
  type LatencyMetric,
  type LatencyRow,
  type MeasurementWindow,
  type RequestCounts,
  type RunInfo,
  type RunSummary,
  type SloSummary,
  summarizeRun,
  type Throughput,
} from "./summary.ts";
export { renderTerminal, type TerminalOptions } from "./render/terminal.ts";
export {
  renderJson,
  REPORT_SCHEMA,
  type ReportJsonV1,
  type ReportLatencyRowV1,
  toReportJson,
} from "./render/json.ts";
