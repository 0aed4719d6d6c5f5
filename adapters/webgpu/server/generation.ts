/**
 * One response on the engine, shaped as OpenAI's: a JSON body, or a Server-Sent Events stream
 * of chunks (`data: {...}` per piece of text, a usage chunk when asked, `data: [DONE]`). A
 * response has one choice per prompt and sample (`n` > 1, batch prompts), each its own engine
 * sequence. A stream cancelled by the client (disconnect) cancels the sequences, which frees
 * their blocks.
 *
 * Chunks and tokens: a chunk is sent as soon as a token completes some text, and it carries the
 * text of every token since the previous chunk (a character split over several byte tokens, or
 * text held back because it could start a stop string, arrives with the token that completes
 * it). With `stream_options.continuous_usage_stats` (vLLM's extension) every chunk carries the
 * usage so far, so a client can count the tokens each chunk stands for.
 *
 * The last chunk (and a JSON response) carries `timings` in llama.cpp's shape, from the engine's
 * own times: `prompt_ms` = arrival to the GPU end of the step that sampled the first token
 * (waiting included), `predicted_ms` = GPU end of the first token's step to the last token's
 * (so the time per output token is `predicted_ms / (predicted_n - 1)`), both from the delivery
 * times when the adapter has no timestamp queries.
 *
 * @module
 */
import type { EngineLoop } from "../serving/engine_loop.ts";
import type { EngineRequest, SeqEvent } from "../serving/engine_request.ts";
import type { TextCodec } from "../text/codec.ts";
import { logprobsObject, type TokenLogprob } from "./logprobs.ts";
import type { ServeStats } from "./serve_stats.ts";
import { StopText } from "./stop_text.ts";

/** What kind of response the chunks are. */
export type Api = "completions" | "chat";

/** One generation to run. */
export interface Generation {
  api: Api;
  model: string;
  request: EngineRequest;
  stop: string[];
  includeUsage: boolean;
  /** Usage in every chunk (vLLM `continuous_usage_stats`). */
  continuousUsage: boolean;
  /** Unix seconds for `created`. */
  created: number;
  /** Text out. */
  codec: TextCodec;
  /** Leave special tokens out of the text (default of the API: true). */
  skipSpecial: boolean;
  /** Return the log-probability of each sampled token (logprobs.ts). */
  logprobs: boolean;
  /** When the request arrived (the loop's clock). */
  arrivalNs: bigint;
  /** Receives the request's latencies. */
  stats: ServeStats;
}

const enc = new TextEncoder();
const sse = (v: unknown) => enc.encode(`data: ${JSON.stringify(v)}\n\n`);

interface Acc {
  text: string;
  completionTokens: number;
  promptTokens: number;
  cachedTokens: number;
  finishReason: string | null;
  /** Run-clock ns of the first and last token (GPU time, else delivery). */
  firstNs: bigint | null;
  lastNs: bigint | null;
  /** Every sampled token with its log-probability (kept when asked for). */
  logprobs: TokenLogprob[];
}

/**
 * Walks the engine events of a generation, turning tokens into text (stop strings and stop ids
 * end it), and calls `emit` with each piece of text.
 */
async function drive(
  loop: EngineLoop,
  events: AsyncIterable<SeqEvent>,
  g: Generation,
  emit: (text: string, a: Acc) => void,
): Promise<Acc> {
  const dec = g.codec.detokenizer(g.request.prompt, g.skipSpecial);
  const stops = new StopText(g.stop);
  const acc: Acc = {
    text: "",
    completionTokens: 0,
    promptTokens: g.request.prompt.length,
    cachedTokens: 0,
    finishReason: null,
    firstNs: null,
    lastNs: null,
    logprobs: [],
  };
  let lastDelivered: bigint | null = null;
  const s = g.stats;
  s.promptTokens += g.request.prompt.length;
  for await (const ev of events) {
    if (ev.kind === "token") {
      acc.completionTokens = ev.index + 1;
      s.generationTokens++;
      const t = ev.gpuNs ?? ev.deliveredNs;
      if (acc.lastNs === null) {
        s.ttft.observe(Number(ev.deliveredNs - g.arrivalNs) / 1e9);
      } else {
        s.engineItl.observe(Number(t - acc.lastNs) / 1e9);
        s.itl.observe(Number(ev.deliveredNs - lastDelivered!) / 1e9);
      }
      acc.firstNs ??= t;
      acc.lastNs = t;
      if (g.logprobs) acc.logprobs.push({ id: ev.id, logprob: ev.logprob });
      lastDelivered = ev.deliveredNs;
      const piece = ev.stop ? dec.flush() : dec.push(ev.id);
      const out = stops.push(piece);
      if (out) {
        acc.text += out;
        emit(out, acc);
      }
      if (stops.stopped) {
        acc.finishReason = "stop";
        loop.stop(g.request.id);
      }
    } else if (ev.kind === "done") {
      if (ev.finishReason !== "cancelled") {
        acc.finishReason = ev.finishReason;
        acc.completionTokens = ev.completionTokens;
        const tail = stops.push(dec.flush()) + stops.flush();
        if (tail) {
          acc.text += tail;
          emit(tail, acc);
        }
      }
      acc.cachedTokens = ev.cachedTokens;
    } else {
      throw new Error(ev.message);
    }
  }
  s.e2e.observe(Number(loop.nowNs() - g.arrivalNs) / 1e9);
  return acc;
}

/** One choice of a response: its generation and the engine's events for it. */
export interface Choice {
  g: Generation;
  events: AsyncIterable<SeqEvent>;
  /** Its prompt counts in usage (false for the 2nd..nth copies of a prompt, `n` > 1). */
  countsPrompt: boolean;
}

/** The usage of a response: prompts counted once each, outputs of every choice. */
function usage(choices: readonly Choice[], accs: readonly (Acc | null)[]) {
  let prompt = 0;
  let cached = 0;
  let completion = 0;
  choices.forEach((c, k) => {
    if (c.countsPrompt) {
      prompt += c.g.request.prompt.length;
      cached += accs[k]?.cachedTokens ?? 0;
    }
    completion += accs[k]?.completionTokens ?? 0;
  });
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

/** llama.cpp's `timings` object, from the engine's times (see the module doc). */
function timings(a: Acc, g: Generation) {
  const ms = (ns: bigint) => Number(ns) / 1e6;
  const promptMs = a.firstNs === null ? 0 : ms(a.firstNs - g.arrivalNs);
  const predictedMs = a.firstNs === null ? 0 : ms(a.lastNs! - a.firstNs);
  const n = a.completionTokens;
  return {
    prompt_n: a.promptTokens - a.cachedTokens,
    prompt_ms: promptMs,
    prompt_per_token_ms: a.promptTokens > 0 ? promptMs / a.promptTokens : 0,
    cache_n: a.cachedTokens,
    predicted_n: n,
    predicted_ms: predictedMs,
    predicted_per_token_ms: n > 0 ? predictedMs / n : 0,
    predicted_per_second: predictedMs > 0 ? (n * 1000) / predictedMs : 0,
  };
}

/**
 * Runs the choices of a response to the end and returns the OpenAI response object (`timings`
 * when there is one choice: llama.cpp's shape has no room for more).
 */
export async function completeJson(
  loop: EngineLoop,
  id: string,
  choices: readonly Choice[],
): Promise<Record<string, unknown>> {
  const accs = await Promise.all(
    choices.map((c) => drive(loop, c.events, c.g, () => {})),
  );
  const g0 = choices[0].g;
  const out: Record<string, unknown> = {
    id,
    created: g0.created,
    model: g0.model,
    object: g0.api === "completions" ? "text_completion" : "chat.completion",
    choices: accs.map((a, index) => {
      const g = choices[index].g;
      const logprobs = g.logprobs
        ? logprobsObject(g.api, g.codec, a.logprobs, 0)
        : null;
      return g.api === "completions"
        ? { index, text: a.text, logprobs, finish_reason: a.finishReason }
        : {
          index,
          message: { role: "assistant", content: a.text },
          logprobs,
          finish_reason: a.finishReason,
        };
    }),
    usage: usage(choices, accs),
  };
  if (choices.length === 1) out.timings = timings(accs[0], g0);
  return out;
}

/**
 * The SSE body of a streamed response: the chunks of every choice as they come (each names its
 * `index`), then the usage chunk when asked and `[DONE]` once all have ended. Cancelling the
 * body cancels every sequence.
 */
export function completeStream(
  loop: EngineLoop,
  id: string,
  choices: readonly Choice[],
): ReadableStream<Uint8Array> {
  const g0 = choices[0].g;
  const base = { id, created: g0.created, model: g0.model };
  const chat = g0.api === "chat";
  const object = chat ? "chat.completion.chunk" : "text_completion";
  const accs: (Acc | null)[] = choices.map(() => null);
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      const put = (b: Uint8Array) => {
        if (!closed) ctrl.enqueue(b);
      };
      const runChoice = (choice: Choice, index: number): Promise<void> => {
        const g = choice.g;
        // The log-probabilities not yet sent, and where the text of the next chunk starts.
        let sentLogprobs = 0;
        let textStart = 0;
        const chunk = (text: string | null, finish: string | null, a: Acc) => {
          accs[index] = a;
          let logprobs = null;
          if (g.logprobs) {
            const entries = a.logprobs.slice(sentLogprobs);
            logprobs = logprobsObject(g.api, g.codec, entries, textStart);
            sentLogprobs = a.logprobs.length;
          }
          textStart += text?.length ?? 0;
          const c: Record<string, unknown> = {
            ...base,
            object,
            choices: [
              chat
                ? {
                  index,
                  delta: text === null ? {} : { content: text },
                  logprobs,
                  finish_reason: finish,
                }
                : { index, text: text ?? "", logprobs, finish_reason: finish },
            ],
          };
          if (g.continuousUsage) c.usage = usage(choices, accs);
          if (finish !== null) c.timings = timings(a, g);
          return c;
        };
        if (chat) {
          put(sse({
            ...base,
            object,
            choices: [{
              index,
              delta: { role: "assistant", content: "" },
              logprobs: null,
              finish_reason: null,
            }],
          }));
        }
        return drive(
          loop,
          choice.events,
          g,
          (text, a) => put(sse(chunk(text, null, a))),
        ).then((a) => {
          put(sse(chunk(chat ? null : "", a.finishReason, a)));
        });
      };
      Promise.all(choices.map(runChoice))
        .then(() => {
          if (g0.includeUsage) {
            put(
              sse({
                ...base,
                object,
                choices: [],
                usage: usage(choices, accs),
              }),
            );
          }
          put(enc.encode("data: [DONE]\n\n"));
          if (!closed) ctrl.close();
        })
        .catch((e) => {
          for (const c of choices) loop.cancel(c.g.request.id);
          put(
            sse({
              error: { message: (e as Error).message, type: "server_error" },
            }),
          );
          if (!closed) ctrl.close();
        });
    },
    cancel() {
      closed = true;
      for (const c of choices) loop.cancel(c.g.request.id);
    },
  });
}
