/**
 * Workloads: trace formats into the canonical request stream, transforms and prompt synthesis.
 *
 * @module
 */
export type {
  ChatMessage,
  PromptSpec,
  RequestSlo,
  TraceRequest,
} from "./request.ts";
export {
  detectFormat,
  readTrace,
  type ReadTraceOptions,
  TRACE_READERS,
  type TraceFormat,
  type TraceReader,
  type TraceSource,
  type TraceWorkload,
} from "./read_trace.ts";
export { firstN, scaleTime, timeWindow } from "./transform.ts";
export { type PromptSynthesisOptions, synthesizePrompts } from "./prompt.ts";
export { TraceError, type TraceErrorLocation } from "./trace_error.ts";
