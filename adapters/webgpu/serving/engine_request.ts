/**
 * What the engine loop is asked and what it answers: a request, its event stream, the errors of
 * admission, the checks every request passes before it is queued, and {@link runRequest}, one
 * request run to its end (how the CLI, the oracle checks and the benchmarks generate: there is
 * no second way to generate beside the loop).
 *
 * @module
 */
import type { SamplingParams, StepLimits } from "../batch/step_batch.ts";

/** One request to the engine. */
export interface EngineRequest {
  /** Unique among live requests. */
  id: string;
  /** Prompt token ids (each below the vocabulary size). */
  prompt: readonly number[];
  /** Tokens to generate at most (>= 1). */
  maxTokens: number;
  /** Stop ids are not honoured before this many tokens (default 0). */
  minTokens?: number;
  /** Do not stop at the model's EOS ids (default false). */
  ignoreEos?: boolean;
  /** More ids that end the sequence. */
  stopTokenIds?: readonly number[];
  /** Default greedy. */
  sampling?: SamplingParams;
}

/** What a request's stream yields. */
export type SeqEvent =
  | {
    kind: "token";
    id: number;
    /** 0-based index among the output tokens. */
    index: number;
    /** Its log-probability under the raw logits (the model's distribution). */
    logprob: number;
    step: number;
    /** GPU end of the step that sampled it (run clock), or null without timestamp queries. */
    gpuNs: bigint | null;
    /** When the host read it back (run clock). */
    deliveredNs: bigint;
    /** The token is a stop id that ended the sequence. */
    stop: boolean;
  }
  | {
    kind: "done";
    finishReason: "stop" | "length" | "cancelled";
    promptTokens: number;
    completionTokens: number;
    cachedTokens: number;
  }
  | { kind: "error"; message: string };

/** The waiting queue is full; the request was not queued. */
export class QueueFullError extends Error {
  /** `waiting`: the requests waiting when this one was refused. */
  constructor(waiting: number) {
    super(`Engine queue is full: ${waiting} requests are waiting`);
    this.name = "QueueFullError";
  }
}

/**
 * A request the engine refuses as it was given: `field` names the request field at fault (as
 * OpenAI's error `param`: `prompt`, `max_tokens`, `id`), so callers map it without reading the
 * message.
 */
export class RequestError extends Error {
  /** `message` says what is wrong with the value; `field` names the request field. */
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = "RequestError";
  }
}

/**
 * Throws a {@link RequestError} naming the field at fault when `req` cannot run on an engine of
 * `limits` (`live`: whether its id is already in use).
 *
 * @example
 * ```ts
 * import { validateRequest } from "./engine_request.ts";
 * const limits = { maxTokens: 16, maxSeqs: 1, maxContext: 32, numPages: 2, logSize: 64, vocab: 10 };
 * try {
 *   validateRequest({ id: "a", prompt: [1, 12], maxTokens: 1 }, limits, false);
 * } catch (e) {
 *   console.log((e as Error).message); // Request a: prompt: expected token ids in [0, 10), got 12 at 1
 * }
 * ```
 */
export function validateRequest(
  req: EngineRequest,
  limits: StepLimits,
  live: boolean,
): void {
  const lim = limits;
  const where = `Request ${req.id}`;
  if (live) {
    throw new RequestError(`${where}: id already in use`, "id");
  }
  if (req.prompt.length < 1) {
    throw new RequestError(
      `${where}: prompt: expected at least 1 token, got 0`,
      "prompt",
    );
  }
  for (const [i, t] of req.prompt.entries()) {
    if (!Number.isInteger(t) || t < 0 || t >= lim.vocab) {
      throw new RequestError(
        `${where}: prompt: expected token ids in [0, ${lim.vocab}), got ${t} at ${i}`,
        "prompt",
      );
    }
  }
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) {
    throw new RequestError(
      `${where}: max_tokens: expected an integer >= 1, got ${req.maxTokens}`,
      "max_tokens",
    );
  }
  const positions = req.prompt.length + req.maxTokens - 1;
  if (positions > lim.maxContext) {
    throw new RequestError(
      `${where}: ${req.prompt.length} prompt tokens + max_tokens ${req.maxTokens} exceed the context of ${
        lim.maxContext + 1
      } tokens`,
      "max_tokens",
    );
  }
}

/** Something that runs requests: the engine loop. */
export interface RequestSink {
  /** Queues `req`; its stream ends with one `done` or `error`. */
  submit(req: EngineRequest, signal?: AbortSignal): AsyncIterable<SeqEvent>;
}

/** One request run to its end by {@link runRequest}. */
export interface RequestResult {
  /** The sampled ids, in order (a stop id that ended the request is the last). */
  ids: number[];
  /** Their log-probabilities under the raw logits. */
  logprobs: number[];
  /** Why it ended: `stop` (a stop id), `length` (its token limit) or `cancelled`. */
  finishReason: "stop" | "length" | "cancelled";
  /** Prompt tokens served from the prefix cache. */
  cachedTokens: number;
  /** When the first id was read back (the loop's clock), or null when none came. */
  firstNs: bigint | null;
  /** When the last id was read back, or null when none came. */
  lastNs: bigint | null;
}

/**
 * Submits `req` to `loop` and gathers its events; throws when the stream ends with an error.
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "../step/device.ts";
 * import { EngineLoop } from "./engine_loop.ts";
 * import { runRequest } from "./engine_request.ts";
 * import { ForwardEngine } from "../step/forward.ts";
 * import { presetSource } from "../model/presets.ts";
 * const engine = await ForwardEngine.create(await requestEngineDevice(), presetSource("tiny"), { maxTokens: 16, maxSeqs: 1, maxContext: 32 });
 * const loop = await EngineLoop.create(engine);
 * const r = await runRequest(loop, { id: "a", prompt: [1, 2, 3], maxTokens: 4, ignoreEos: true });
 * console.log(r.ids.length, r.finishReason); // 4 length
 * await loop.close();
 * engine.destroy();
 * ```
 */
export async function runRequest(
  loop: RequestSink,
  req: EngineRequest,
  signal?: AbortSignal,
): Promise<RequestResult> {
  const r: RequestResult = {
    ids: [],
    logprobs: [],
    finishReason: "length",
    cachedTokens: 0,
    firstNs: null,
    lastNs: null,
  };
  for await (const ev of loop.submit(req, signal)) {
    if (ev.kind === "token") {
      r.ids.push(ev.id);
      r.logprobs.push(ev.logprob);
      r.firstNs ??= ev.deliveredNs;
      r.lastNs = ev.deliveredNs;
    } else if (ev.kind === "done") {
      r.finishReason = ev.finishReason;
      r.cachedTokens = ev.cachedTokens;
    } else throw new Error(`Request ${req.id}: ${ev.message}`);
  }
  return r;
}
