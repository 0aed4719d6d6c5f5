/**
 * One completion on the engine, shaped as an OpenAI response: a JSON body, or a Server-Sent
 * Events stream of chunks (`data: {...}` per token, a usage chunk when asked, `data: [DONE]`).
 * A stream cancelled by the client (disconnect) cancels the sequence, which frees its blocks.
 *
 * @module
 */
import type { EngineLoop, EngineRequest, SeqEvent } from "../engine_loop.ts";
import { ByteTextDecoder } from "../tokenizer.ts";
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
  /** Unix seconds for `created`. */
  created: number;
}

const enc = new TextEncoder();
const sse = (v: unknown) => enc.encode(`data: ${JSON.stringify(v)}\n\n`);

interface Acc {
  text: string;
  completionTokens: number;
  promptTokens: number;
  cachedTokens: number;
  finishReason: string | null;
}

/**
 * Walks the engine events of a generation, turning tokens into text (stop strings and stop ids
 * end it), and calls `emit` with each piece of text.
 */
async function drive(
  loop: EngineLoop,
  events: AsyncIterable<SeqEvent>,
  g: Generation,
  emit: (text: string) => void,
): Promise<Acc> {
  const dec = new ByteTextDecoder();
  const stops = new StopText(g.stop);
  const acc: Acc = {
    text: "",
    completionTokens: 0,
    promptTokens: g.request.prompt.length,
    cachedTokens: 0,
    finishReason: null,
  };
  for await (const ev of events) {
    if (ev.kind === "token") {
      acc.completionTokens = ev.index + 1;
      const piece = ev.stop ? dec.flush() : dec.push(ev.id);
      const out = stops.push(piece);
      if (out) {
        acc.text += out;
        emit(out);
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
          emit(tail);
        }
      }
      acc.cachedTokens = ev.cachedTokens;
    } else {
      throw new Error(ev.message);
    }
  }
  return acc;
}

function usage(a: Acc) {
  return {
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    total_tokens: a.promptTokens + a.completionTokens,
    prompt_tokens_details: { cached_tokens: a.cachedTokens },
  };
}

/** Runs a generation to the end and returns the OpenAI response object. */
export async function completeJson(
  loop: EngineLoop,
  events: AsyncIterable<SeqEvent>,
  g: Generation,
): Promise<Record<string, unknown>> {
  const a = await drive(loop, events, g, () => {});
  const base = { id: g.request.id, created: g.created, model: g.model };
  if (g.api === "completions") {
    return {
      ...base,
      object: "text_completion",
      choices: [{
        index: 0,
        text: a.text,
        logprobs: null,
        finish_reason: a.finishReason,
      }],
      usage: usage(a),
    };
  }
  return {
    ...base,
    object: "chat.completion",
    choices: [{
      index: 0,
      message: { role: "assistant", content: a.text },
      logprobs: null,
      finish_reason: a.finishReason,
    }],
    usage: usage(a),
  };
}

/** The SSE body of a streamed generation; cancelling it cancels the sequence. */
export function completeStream(
  loop: EngineLoop,
  events: AsyncIterable<SeqEvent>,
  g: Generation,
): ReadableStream<Uint8Array> {
  const base = { id: g.request.id, created: g.created, model: g.model };
  const chat = g.api === "chat";
  const object = chat ? "chat.completion.chunk" : "text_completion";
  const chunk = (text: string | null, finish: string | null) =>
    chat
      ? {
        ...base,
        object,
        choices: [{
          index: 0,
          delta: text === null ? {} : { content: text },
          logprobs: null,
          finish_reason: finish,
        }],
      }
      : {
        ...base,
        object,
        choices: [{
          index: 0,
          text: text ?? "",
          logprobs: null,
          finish_reason: finish,
        }],
      };
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      const put = (b: Uint8Array) => {
        if (!closed) ctrl.enqueue(b);
      };
      if (chat) {
        put(sse({
          ...base,
          object,
          choices: [{
            index: 0,
            delta: { role: "assistant", content: "" },
            logprobs: null,
            finish_reason: null,
          }],
        }));
      }
      drive(loop, events, g, (text) => put(sse(chunk(text, null))))
        .then((a) => {
          put(sse(chunk(chat ? null : "", a.finishReason)));
          if (g.includeUsage) {
            put(sse({ ...base, object, choices: [], usage: usage(a) }));
          }
          put(enc.encode("data: [DONE]\n\n"));
          if (!closed) ctrl.close();
        })
        .catch((e) => {
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
      loop.cancel(g.request.id);
    },
  });
}
