/**
 * The canonical request stream that every workload reader produces and the harness replays.
 *
 * @module
 */

/** A prompt as it is sent to a backend: token ids, plain text, or chat messages. */
export type PromptSpec =
  | { kind: "token_ids"; ids: number[] }
  | { kind: "text"; text: string }
  | { kind: "chat"; messages: ChatMessage[] };

/** One chat message of a `chat` prompt. */
export interface ChatMessage {
  /** Who speaks. */
  role: "system" | "user" | "assistant";
  /** What is said. */
  content: string;
}

/**
 * One request of a workload, after transforms.
 *
 * @example
 * ```ts
 * import type { TraceRequest } from "./request.ts";
 * const r: TraceRequest = { id: "0", arrivalMs: 0, inputTokens: 12, outputTokens: 4 };
 * console.log(r.id);
 * ```
 */
export interface TraceRequest {
  /** Stable within the workload: the trace row index or an id the trace gives. */
  id: string;
  /** 0-based index of the record in the source file, when the request came from a trace. */
  traceIndex?: number;
  /** Offset from the workload start in milliseconds, after transforms. */
  arrivalMs: number;
  /** Planned prompt length in tokens. */
  inputTokens: number;
  /** Planned output length in tokens (sent as `max_tokens`; `ignore_eos` where supported). */
  outputTokens: number;
  /** The prompt to send; synthesized when the trace has none. */
  prompt?: PromptSpec;
  /** Block hash ids (Mooncake style): equal ids mean an identical prompt block. */
  prefixBlocks?: number[];
  /** Multi-turn structure when the trace has it. */
  sessionId?: string;
  /** 0-based turn within the session. */
  turn?: number;
  /**
   * Closed-loop think time: wait this long after the previous turn of the same session
   * completes (AIPerf `delay`, synthetic sessions). `arrivalMs` is then the open-loop estimate.
   */
  thinkTimeMs?: number;
  /** Images sent with the request (Azure LMM 2025 `NumImages`). */
  numImages?: number;
  /** The source marks this request as failed (BurstGPT: 0 response tokens). */
  sourceFailed?: boolean;
  /** True when `inputTokens`/`outputTokens` were estimated, not counted by a tokenizer. */
  approximateLengths?: boolean;
}
