/**
 * Workloads: trace formats into the canonical request stream, transforms, synthetic workloads,
 * prompt synthesis, the catalog of public traces and trace statistics.
 *
 * @module
 */
export type { ChatMessage, PromptSpec, TraceRequest } from "./base/request.ts";
export {
  detectFormat,
  FORMAT_NAMES,
  readTrace,
  type ReadTraceOptions,
  sha256File,
  TRACE_READERS,
  type TraceFormat,
  type TraceReader,
  type TraceSource,
  type TraceWorkload,
} from "./formats/read_trace.ts";
export {
  type ColumnMapping,
  DEFAULT_READER_OPTIONS,
  type ReaderOptions,
  type ReaderResult,
  TIME_UNITS,
  type TimeUnit,
  type TraceConnection,
} from "./formats/reader.ts";
export {
  BAD_ROW_POLICIES,
  type BadRowPolicy,
  type SkippedRow,
  type SkippedRows,
} from "./formats/bad_rows.ts";
export {
  compressIdleGaps,
  firstN,
  fitContext,
  meanRate,
  rebase,
  scaleTime,
  targetRate,
  timeWindow,
} from "./transform.ts";
export {
  capLengths,
  filterLengths,
  type LengthBounds,
  type SampleOptions,
  sampleRandom,
} from "./select.ts";
export {
  type AppliedTransform,
  applyTransforms,
  type TransformResult,
  type TransformSpec,
} from "./transform_pipeline.ts";
export { type ArrivalSpec, arrivalTimes } from "./synthetic/arrivals.ts";
export { lengthSampler, type LengthSpec } from "./synthetic/lengths.ts";
export type { Rng } from "./base/random.ts";
export {
  assignArrivals,
  generateSynthetic,
  type SessionSpec,
  type SyntheticSpec,
} from "./synthetic/generate.ts";
export {
  type EmpiricalFromTrace,
  parseArrivalSpec,
  parseLengthSpec,
  parseSyntheticSpec,
  SpecError,
  type SyntheticSpecText,
} from "./synthetic/spec.ts";
export {
  defaultFirstId,
  MIN_FREE_IDS,
  type PromptSynthesisOptions,
  synthesizePrompts,
} from "./prompt.ts";
export { loadTokenizer, type TextTokenizer } from "./tokenizer.ts";
export {
  synthesizeTextPrompts,
  type TextPromptOptions,
  wordPool,
} from "./text_prompt.ts";
export {
  assertPromptsPossible,
  planPrompts,
  PromptLengthError,
  type PromptPlan,
  type PromptPlanOptions,
} from "./prompt_plan.ts";
export { CATALOG, type CatalogEntry, catalogEntry } from "./catalog.ts";
export { workloadCacheDir } from "./cache.ts";
export {
  FetchError,
  type FetchOptions,
  type FetchResult,
  fetchWorkload,
} from "./fetch.ts";
export {
  type ResolvedWorkload,
  type ResolveOptions,
  resolveWorkload,
  WorkloadNotFoundError,
} from "./resolve_workload.ts";
export {
  type LoadedWorkload,
  loadWorkload,
  type WorkloadConfig,
} from "./load_workload.ts";
export {
  type LengthStats,
  lengthStats,
  percentileLinear,
  percentileNearestRank,
  type TraceStats,
  traceStats,
  type TraceStatsOptions,
} from "./inspect.ts";
export { renderStatsText } from "./inspect_text.ts";
export { traceSvg } from "./histogram_svg.ts";
export { TraceError, type TraceErrorLocation } from "./formats/trace_error.ts";
export { USAGE_EXIT_CODE, UsageError } from "./base/usage_error.ts";
