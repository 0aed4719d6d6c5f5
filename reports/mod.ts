/**
 * Reports: metric views over the result database, run resolution, SLOs, run summaries and
 * their renderers.
 *
 * Metric definitions live only in `reports/sql/` (one view or macro per file, see docs/METRICS.md).
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
export type {
  LiveSource,
  NewRun,
  Row,
  RunSlo,
  RunStatus,
  SqlValue,
  Store,
  StoreConnection,
  StoreInstance,
} from "../harness/store.ts";
export type { CalibrationFloor } from "./results/calibration.ts";
export {
  type InstalledViews,
  installViews,
  VIEW_FILES,
  type ViewFile,
  type ViewKind,
  type ViewMode,
  type ViewStatement,
  viewStatements,
} from "./sql/views.ts";
export {
  MATERIALIZED_VIEWS,
  openSnapshot,
  type ReportSource,
  Snapshot,
  type SnapshotOptions,
} from "./results/snapshot.ts";
export { formatSlo, parseSlo, type Slo } from "./results/slo.ts";
export {
  DEFAULT_FAILURE_POLICY,
  describeFailurePolicy,
  FAILURE_POLICY_FLAGS,
  type FailurePolicy,
  parseFailurePolicy,
} from "./results/failure_policy.ts";
export {
  type ResolvedRun,
  resolveRun,
  type RunMatch,
} from "./results/resolve_run.ts";
export { runFailure } from "./results/run_outcome.ts";
export {
  exportRequestsCsv,
  exportTokensParquet,
  type RequestExportOptions,
} from "./results/export.ts";
export { recordedSlo, sweepRunIds } from "./results/recorded.ts";
export type {
  LatencyMetric,
  LatencyRow,
  MeasurementWindow,
  RequestCounts,
  RunGroupInfo,
  RunInfo,
  RunSummary,
  SloSummary,
  Throughput,
} from "./results/run_summary.ts";
export { summarizeRun, type SummaryOptions } from "./results/summary.ts";
export {
  type FidelityCheck,
  type FidelityVerdict,
  fidelityVerdict,
  readFidelity,
} from "./results/fidelity.ts";
export {
  type FailureCount,
  type FailureSummary,
  NO_FAILURES,
  readFailures,
} from "./results/failures.ts";
export {
  comparisonHeadlines,
  comparisonVerdict,
  fidelityText,
  headline,
  headlineOf,
  type HeadlineParts,
  runHeadline,
  sideHeadline,
} from "./render/headline.ts";
export {
  type AnchorRow,
  type CdfPoint,
  collectRunReport,
  type LengthRow,
  type RunConfiguration,
  type RunReport,
  type RunReportOptions,
  type TimelineRequest,
  type TimeseriesRow,
} from "./results/run_report.ts";
export {
  attainmentCollapsed,
  type CapacityBound,
  parseSweepValues,
  readSweep,
  type SweepAxis,
  type SweepCapacity,
  type SweepPoint,
  type SweepReport,
} from "./results/sweep.ts";
export {
  type CompareOptions,
  compareRuns,
  compareSides,
  type Comparison,
  type ComparisonRow,
  type ComparisonSide,
  type SideTrust,
  SINGLE_RUN_CAVEAT,
} from "./results/compare.ts";
export {
  DEFAULT_GATES,
  evaluateGates,
  type Gate,
  type GateResult,
  type GateVerdict,
  parseGates,
  trustNote,
} from "./results/gate.ts";
export { type ComparedSide, resolveSide } from "./results/resolve_group.ts";
export {
  ABSENT,
  refusalMessage,
  runSettings,
  type SettingDifference,
  settingDifferences,
  sideDifferences,
} from "./results/like_with_like.ts";
export { renderTerminal, type TerminalOptions } from "./render/terminal.ts";
export {
  type FailureCountJson,
  renderFullJson,
  renderJson,
  REPORT_SCHEMA,
  type ReportJsonV2,
  type ReportLatencyRowV2,
  toFullReportJson,
  toReportJson,
} from "./render/json.ts";
export { renderMarkdown, sweepMarkdown } from "./render/markdown.ts";
export { renderFidelityJunit, renderGatesJunit } from "./render/junit.ts";
export {
  type HtmlOptions,
  renderHtml,
  renderReportBody,
  REPORT_CSS,
  sweepSection,
} from "./render/html.ts";
export {
  COMPARE_SCHEMA,
  renderComparisonJson,
  renderComparisonMarkdown,
  renderComparisonText,
} from "./render/comparison.ts";
export { type ChartSpec, renderSvg } from "./render/charts.ts";
export {
  BENCH_FAILURE_POLICY,
  benchFidelityOk,
  type BenchFlag,
  type BenchMachine,
  type BenchPointLatency,
  type BenchReport,
  capacityHalfWidth,
  readBench,
  type ReadBenchOptions,
} from "./results/bench.ts";
export {
  benchHtml,
  benchJson,
  type BenchSubject,
  benchTerminal,
  capacityPhrase,
  fidelityPhrase,
} from "./render/bench.ts";
