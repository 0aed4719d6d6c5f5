/**
 * The OpenAI-compatible streaming backend: replays trace requests against `/v1/completions` or
 * `/v1/chat/completions` of vLLM, SGLang, OpenAI or any compatible server, and reports the time
 * of every streamed chunk as `StreamEvent`s (`adapters/backend.ts`).
 *
 * - {@linkcode OpenAIBackend}: the `Backend` implementation.
 * - {@linkcode checkReachable}: the CLI's pre-flight check (`GET /v1/models`).
 * - {@linkcode apiKeyFromEnv}: reads the API key (default variable `OPENAI_API_KEY`).
 * - {@linkcode SseParser}, {@linkcode interpretChunk} and {@linkcode streamEvents}: the
 *   incremental SSE parser, the interpretation of one OpenAI stream chunk, and the two together
 *   over a response body (usable on recorded streams).
 * - {@linkcode buildRequestBody} and {@linkcode apiRoot}: how requests are addressed and built.
 *
 * @example
 * ```ts
 * import { interpretChunk, SseParser } from "./mod.ts";
 * const p = new SseParser();
 * const bytes = new TextEncoder().encode('data: {"choices":[{"text":"a"}]}\n\ndata: [DONE]\n\n');
 * console.log(p.push(bytes).flatMap((e) => interpretChunk(e.data, e.index)).map((i) => i.kind));
 * // [ "tokens", "done" ]
 * ```
 *
 * @module
 */
// The backend contract, whole (every export of adapters/backend.ts is a type).
export type * from "../backend.ts";
export type { ChatMessage, PromptSpec } from "../../workloads/base/request.ts";
export type { ChunkReader } from "./_http.ts";
export { OpenAIBackend } from "./backend.ts";
export {
  DEFAULT_TIMEOUT_MS,
  type OpenAIBackendOptions,
  type ResolvedOpenAIOptions,
  resolveOptions,
} from "./options.ts";
export {
  checkReachable,
  type CheckReachableOptions,
  type ServedModel,
  servedModels,
  serverVersion,
} from "./reachable.ts";
export {
  type ProgressEvent,
  streamEvents,
  type StreamEventsOptions,
  type TerminalEvent,
} from "./stream_events.ts";
export { apiKeyFromEnv, DEFAULT_API_KEY_ENV } from "./api_key.ts";
export { type SseEvent, type SseLimits, SseParser } from "./sse.ts";
export { type ChunkItem, interpretChunk } from "./chunk.ts";
export {
  buildRequestBody,
  type EndpointKind,
  type OpenAIApi,
  type RequestBodyOptions,
  type RequestBodyResult,
} from "./request_body.ts";
export { apiRoot, baseHeaders } from "./endpoint.ts";
export {
  addKindFields,
  ENDPOINT_KINDS,
  kindFromOwner,
} from "./endpoint_kinds.ts";
