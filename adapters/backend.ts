/**
 * The Backend interface: how the harness drives a serving backend, and the events it gets back.
 *
 * Backends only report events with times from the run clock; they never compute metrics and
 * never open the result store.
 *
 * @module
 */
import type { PromptSpec } from "../workloads/base/request.ts";

/** The channel a streamed token belongs to. */
export type TokenChannel = "content" | "reasoning" | "tool";

/**
 * One event of a request's life, timed in nanoseconds on the run's monotonic clock.
 *
 * - `sent`: just before the request leaves (HTTP request or engine submit).
 * - `first_byte`: the first byte of the response body arrived.
 * - `tokens`: one token-bearing chunk; role-only or empty chunks are not reported.
 * - `usage`: the server's token accounting.
 * - `done`: the stream ended normally (`[DONE]` or close).
 * - `error`: the request failed; `status` is the HTTP status when there was one.
 */
export type StreamEvent =
  | { kind: "sent"; tNs: bigint }
  | { kind: "first_byte"; tNs: bigint }
  | {
    kind: "tokens";
    tNs: bigint;
    count: number;
    channel: TokenChannel;
    text?: string;
  }
  | {
    kind: "usage";
    tNs: bigint;
    promptTokens: number;
    completionTokens: number;
    cachedTokens?: number;
  }
  | {
    /**
     * The server's own account of the request (llama.cpp's `timings`; tokentrace serve sends
     * the same shape): prompt processing and generation times in ms and their token counts.
     * The last one seen counts.
     */
    kind: "server_timings";
    tNs: bigint;
    promptTokens?: number;
    promptMs?: number;
    predictedTokens?: number;
    predictedMs?: number;
  }
  | { kind: "done"; tNs: bigint; finishReason: string }
  | {
    kind: "error";
    tNs: bigint;
    status?: number;
    message: string;
    /** What failed: `http` (non-2xx), `stream` (error object mid-stream), `timeout`, `cancelled`, `network`, `protocol`. */
    errorKind: ErrorKind;
    /** Which limit fired, when `errorKind` is `timeout`. */
    timeoutKind?: TimeoutKind;
  };

/**
 * Receives one request's events as they happen: the push-style form of `generate()`'s
 * iterator, called straight from a backend's read loop (see {@linkcode Backend.stream}).
 * `tokens` and `usage` take their fields as arguments, so the reading thread builds no event
 * object per chunk; every other event comes through `event`. Calls come in the order
 * `generate()` would yield the events.
 *
 * @example
 * ```ts
 * import type { StreamSink } from "./backend.ts";
 * let tokens = 0;
 * const sink: StreamSink = {
 *   tokens: (_tNs, count) => void (tokens += count),
 *   usage: () => {},
 *   event: (ev) => console.log(ev.kind),
 * };
 * sink.tokens(5n, 2, "content", undefined);
 * console.log(tokens); // 2
 * ```
 */
export interface StreamSink {
  /** Whether `tokens` needs each chunk's text (decoding it costs a string per chunk). Default false. */
  readonly wantsText?: boolean;
  /** A token-bearing chunk (a `tokens` event); `text` is given when `wantsText`. */
  tokens(
    tNs: bigint,
    count: number,
    channel: TokenChannel,
    text: string | undefined,
  ): void;
  /** The server's token accounting (a `usage` event). */
  usage(
    tNs: bigint,
    promptTokens: number,
    completionTokens: number,
    cachedTokens: number | undefined,
  ): void;
  /** Every other event: `sent`, `first_byte`, `server_timings`, `done`, `error`. */
  event(ev: Exclude<StreamEvent, { kind: "tokens" | "usage" }>): void;
  /**
   * The request's planned send, given before its time, for a backend that
   * {@linkcode Backend.takesSendHandoffs}: its `sent` event is then the time of the `send()`.
   */
  readonly handoff?: SendHandoff;
}

/** How a send handed to another thread ended ({@linkcode SendHandoff.fired}). */
export type SendFired =
  /** Made: `wallMs` stamped right before the `send()`, `written` bytes (or minus the errno). */
  | { outcome: "sent"; wallMs: number; written: number }
  /** Not made: the caller writes the request itself, after {@linkcode SendHandoff.due}. */
  | { outcome: "passed" }
  /** Taken back ({@linkcode SendHandoff.withdraw}): nothing was sent. */
  | { outcome: "withdrawn" };

/**
 * A planned send that another thread may make on time (harness/armed_sends.ts): the harness
 * gives one to a backend that {@linkcode Backend.takesSendHandoffs} with each open-loop request,
 * before its send time. The backend builds the request, takes its connection and arms it; if it
 * cannot ({@linkcode arm} false), it waits for {@linkcode due} and writes the request itself.
 */
export interface SendHandoff {
  /** The send time, on the shared wall scale (`performance.timeOrigin + performance.now()`). */
  readonly dueWallMs: number;
  /**
   * Hands `bytes` for the native socket `fd` over, to be sent at the send time; false when too
   * late or no slot is free. `bytes` must not change until {@linkcode fired} resolves.
   */
  arm(fd: number, bytes: Uint8Array): boolean;
  /** Resolves with what became of an armed send (`passed` at once when nothing was armed). */
  fired(): Promise<SendFired>;
  /**
   * Takes an armed send back, for a request that is cancelled: `withdrawn` (it will not be
   * made, or nothing was armed) or `sent` (it was made): the socket may close now; `sending`:
   * the other thread is in its `send()`: await {@linkcode fired} before closing the socket.
   */
  withdraw(): "withdrawn" | "sent" | "sending";
  /** Returns at the send time (spinning the rest of the way), at once when it has passed. */
  due(): void;
}

/**
 * The request-level time limits: `connect` (no response headers in time), `first_token` (no
 * token-bearing chunk in time after `sent`), `idle` (no chunk in time since the previous one),
 * `total` (the whole request).
 */
export type TimeoutKind = "connect" | "first_token" | "idle" | "total";

/** Classification of a failed request. */
export type ErrorKind =
  | "http"
  | "stream"
  | "timeout"
  | "cancelled"
  | "network"
  | "protocol";

/**
 * What a backend is asked to generate: the part of a trace request a backend needs. The harness
 * builds it from a `TraceRequest` in one place (`harness/request_tracker.ts`,
 * `generateRequest`), retry ids included.
 */
export interface GenerateRequest {
  /** Unique within the run: the trace request's id, or `<id>~retry<n>` for a retry. */
  id: string;
  /** The prompt; a backend answers a missing one with an `error` event. */
  prompt?: PromptSpec;
  /** Output tokens to ask for at most (`max_tokens`). */
  maxTokens: number;
  /** Output tokens every response should reach (`min_tokens`, `ignore_eos` where supported). */
  minTokens: number;
}

/** What a backend says about itself; stored with the run as JSON. */
export interface BackendInfo {
  /** Backend kind, e.g. `openai` or `webgpu`. */
  backend: string;
  /** Model name as the backend reports it. */
  model: string;
  /** Anything else worth keeping with the run (URL, server version, engine options). */
  [key: string]: unknown;
}

/**
 * A serving backend the harness can replay requests against.
 *
 * @example
 * ```ts
 * import type { Backend, StreamEvent } from "./backend.ts";
 * async function drain(b: Backend): Promise<StreamEvent[]> {
 *   const out: StreamEvent[] = [];
 *   const req = { id: "0", maxTokens: 2, minTokens: 2 };
 *   for await (const ev of b.generate(req, new AbortController().signal)) out.push(ev);
 *   return out;
 * }
 * console.log(typeof drain);
 * ```
 */
export interface Backend {
  /** Backend kind, stored as `runs.backend` (`openai`, `webgpu`, ...). */
  readonly name: string;
  /** Model, version and server arguments, stored with the run. */
  describe(): Promise<BackendInfo>;
  /**
   * Sends one request and yields its events in time order. The iterator always ends with
   * exactly one `done` or `error` event (aborting `signal` yields an `error` of kind `cancelled`
   * unless a timeout fired first); it never throws for a request-level failure.
   */
  generate(
    req: GenerateRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamEvent>;
  /**
   * The same request as `generate()`, its events pushed into `sink` as they happen; resolves
   * once the `done` or `error` event was delivered, never rejects for a request-level failure.
   * Optional: backends whose read loop can call a sink directly offer it, so the thread that
   * takes token times does not run an async iterator per event (docs/perf.md, "The tail").
   */
  stream?(
    req: GenerateRequest,
    signal: AbortSignal,
    sink: StreamSink,
  ): Promise<void>;
  /** Releases connections and resources. */
  close(): Promise<void>;
  /**
   * True when the backend takes its token times on another thread (the built-in engine stamps
   * them in its worker), so the thread that calls it may spin before a send without delaying
   * any token time; absent or false for backends whose read loop runs on the calling thread.
   */
  readonly timesTokensElsewhere?: boolean;
  /**
   * True when `stream()` takes {@linkcode StreamSink.handoff}: the open loop then gives each
   * request to it before its send time, to be sent by the metronome's thread on time
   * (harness/armed_sends.ts).
   */
  readonly takesSendHandoffs?: boolean;
  /**
   * Built-in engines only: the harness hands over the sink of the run's `engine_steps` and
   * `engine_tokens` rows before the first request (backends never open the store themselves).
   */
  attachEngineSink?(sink: EngineRecordSink): void;
  /**
   * How to build the same backend in another thread, for runs spread over sender workers;
   * absent when the backend cannot leave its thread (the built-in engine owns its GPU device).
   */
  portable?(): Promise<PortableBackend>;
}

/**
 * A backend rebuilt in a sender worker: `moduleUrl` exports
 * `createPortableBackend(options, nowNs): Backend`, with `nowNs` that thread's run clock.
 */
export interface PortableBackend {
  /** URL of the module that exports `createPortableBackend`. */
  moduleUrl: string;
  /** Structured-cloneable; what `createPortableBackend` takes. */
  options: unknown;
}

// ---- Engine records (built-in engine only; rows of engine_steps / engine_tokens) ----

/** One step of the built-in engine; times on the run clock in ns. */
export interface EngineStepRow {
  /** 0-based step index of the engine. */
  step: number;
  /** Scheduling of the step began on the host. */
  tSchedNs: bigint;
  /** Just before the step was submitted to the GPU queue. */
  tSubmitNs: bigint;
  /** GPU start/end of the step's compute pass (timestamp queries mapped to the run clock), or null. */
  tGpuStartNs: bigint | null;
  /** GPU end of the step's compute pass (run clock ns), or null. */
  tGpuEndNs: bigint | null;
  /** The step's sampled ids were read back on the host. */
  tReadbackNs: bigint;
  /** Query tokens of prefill chunks in the step. */
  prefillTokens: number;
  /** Decode tokens in the step (one per decoding sequence). */
  decodeTokens: number;
  /** Sequences in the step. */
  numSeqs: number;
  /** Sequences with a prefill chunk in the step. */
  numPrefillSeqs: number;
  /** Sequences that sampled a token in the step. */
  sampleRows: number;
  /** 16-token KV blocks referenced after scheduling. */
  kvBlocksUsed: number;
  /** KV blocks of the cache. */
  kvBlocksTotal: number;
  /** Blocks kept in the prefix cache (used or not). */
  kvBlocksCached: number;
  /** Prompt tokens of admissions served from the prefix cache. */
  prefixHitTokens: number;
  /** Sequences preempted (blocks freed, to be recomputed) while scheduling this step. */
  preempted: number;
  /** Requests waiting after scheduling. */
  waiting: number;
  /** Sequences holding a slot after scheduling. */
  running: number;
  /** Host time to schedule, pack, encode and submit the step, in microseconds. */
  cpuUs: number;
  /** The scheduling policy (`prefill-first`, `sarathi`, `decode-first`). */
  policy: string;
  /** The attention path (`fused`, `serial`). */
  attention: string;
}

/** One sampled token of the built-in engine, joined to its step. */
export interface EngineTokenRow {
  /** The request the token belongs to. */
  reqId: string;
  /** 0-based index among the request's output tokens. */
  tokenIndex: number;
  /** The step whose sample produced it. */
  step: number;
  /** The sampled token id. */
  tokenId: number;
  /** Read back on the host (client-visible delivery), run clock ns. */
  tDeliveredNs: bigint;
}

/** Where a built-in engine sends its step and token records during a run. */
export interface EngineRecordSink {
  /** Takes one `engine_steps` row; throws when the rows can no longer be written. */
  engineStep(row: EngineStepRow): void;
  /** Takes one `engine_tokens` row; throws when the rows can no longer be written. */
  engineToken(row: EngineTokenRow): void;
  /**
   * Called once when a record was refused (`engineStep`/`engineToken` threw): the engine stops
   * sending records to this sink, and `message` says why. The harness ends a run still
   * recording with that message, so a run never goes on with engine tables silently incomplete.
   */
  failed?(message: string): void;
}
