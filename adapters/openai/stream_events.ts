/**
 * Turns the body of a streaming OpenAI response into timed {@linkcode StreamEvent}s.
 *
 * @module
 */
import type { StreamEvent } from "../backend.ts";
import type { ChunkReader } from "./_http.ts";
import { type ChunkItem, interpretChunk } from "./chunk.ts";
import { type SseLimits, SseParser } from "./sse.ts";

/** Default of {@linkcode StreamEventsOptions.maxBodyBytes}: 256 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 2 ** 20;

/** The event that ends a request: `done` or `error`. */
export type TerminalEvent = Extract<StreamEvent, { kind: "done" | "error" }>;

/** The events before the end: `first_byte`, `tokens` and `usage` (and `sent`, which the caller yields). */
export type ProgressEvent = Exclude<StreamEvent, { kind: "done" | "error" }>;

/** Options of {@linkcode streamEvents}. */
export interface StreamEventsOptions {
  /** The run clock in nanoseconds; called once per non-empty read. */
  nowNs: () => bigint;
  /** Starts every message, e.g. `Request 17`. */
  label: string;
  /** Where the body came from, named when it ends without tokens, e.g. `POST http://h/v1/completions`. */
  source: string;
  /** The response's `content-type`, named when the body ends without tokens. Default: unknown. */
  contentType?: string | null;
  /** Bounds on a line and an event of the stream (see `SseLimits`). */
  sse?: SseLimits;
  /**
   * Most bytes a body may have; past it the stream ends with a `protocol` error (a stream of
   * 100k tokens is ~30 MB). Default {@linkcode DEFAULT_MAX_BODY_BYTES}.
   */
  maxBodyBytes?: number;
  /**
   * Counts the tokens of a chunk's text when the chunk does not carry the server's running
   * count (one counter per stream: `chunkTokenCounter`). Default: 1 token per chunk and channel.
   */
  countTokens?: (text: string) => number;
  /**
   * Builds the terminal event when a read fails (`tokenChunks` token events were yielded before).
   * Default: an error of kind `network` with the failure's message.
   */
  onReadError?: (
    error: unknown,
    tNs: bigint,
    tokenChunks: number,
  ) => TerminalEvent;
}

/**
 * Reads an SSE response body to its end or to `[DONE]`, yielding `first_byte`, `tokens`,
 * `usage` and `server_timings` events, and returns the terminal event (it does not yield it).
 *
 * Tokens per chunk: a chunk that carries the server's running output count (usage per chunk,
 * vLLM's `continuous_usage_stats`; llama.cpp's `timings.predicted_n` with `timings_per_token`)
 * counts as the growth of that count since the previous one (at least 1); any other chunk
 * counts by `countTokens` when given (the served model's tokenizer), else 1 token per channel.
 *
 * Every event parsed from one read gets the timestamp taken right after that read resolved, before
 * parsing. `[DONE]` ends with `done` and the last `finish_reason` (`"unknown"` when none came); an
 * error object ends with an error of kind `stream`, malformed JSON with kind `protocol`. A body
 * that closes without `[DONE]` is `done` with the last `finish_reason` (`"eos_no_done"` when none)
 * if any token came, else an error of kind `protocol`. A line, an event or a body past its bound
 * (`sse`, `maxBodyBytes`) ends with kind `protocol` after the events before it, so memory stays
 * bounded whatever the server sends. The reader is left as it is after `[DONE]` or a refusal
 * (the caller decides whether to drain or cancel it).
 *
 * @example
 * ```ts
 * import { streamEvents } from "./stream_events.ts";
 * const body = new Response('data: {"choices":[{"text":"a"}]}\n\ndata: [DONE]\n\n').body!;
 * let t = 0n;
 * const it = streamEvents(body.getReader(), {
 *   nowNs: () => (t += 10n),
 *   label: "Request 0",
 *   source: "recorded stream",
 * });
 * let r = await it.next();
 * for (; !r.done; r = await it.next()) console.log(r.value.kind, r.value.tNs);
 * console.log(r.value); // { kind: "done", tNs: 10n, finishReason: "unknown" }
 * ```
 */
export async function* streamEvents(
  reader: ChunkReader,
  opts: StreamEventsOptions,
): AsyncGenerator<ProgressEvent, TerminalEvent, undefined> {
  const now = opts.nowNs;
  const sse = new SseParser(opts.sse);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let tokens = 0;
  /** The server's running count of output tokens, as of the last chunk that stated it. */
  let served = 0;
  let bytes = 0;
  let finish: string | undefined;
  let head: Uint8Array | undefined;
  while (true) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      const tNs = now();
      if (opts.onReadError !== undefined) {
        return opts.onReadError(e, tNs, tokens);
      }
      return {
        kind: "error",
        tNs,
        errorKind: "network",
        message: `${opts.label}: reading ${opts.source} failed: ${
          (e as Error)?.message ?? e
        }`,
      };
    }
    if (!chunk.done && chunk.value.length === 0) continue;
    const tNs = now(); // one timestamp per read, taken before parsing
    let events;
    if (chunk.done) {
      events = sse.end();
    } else {
      if (head === undefined) {
        head = chunk.value.slice(0, 200);
        yield { kind: "first_byte", tNs };
      }
      bytes += chunk.value.length;
      events = sse.push(chunk.value);
    }
    for (const ev of events) {
      const items = interpretChunk(ev.data, ev.index);
      const running = runningCount(items);
      if (running !== undefined) {
        const toks = items.filter((i) => i.kind === "tokens");
        if (toks.length === 1 && running > served) {
          toks[0].count = running - served;
        }
        served = Math.max(served, running);
      } else if (opts.countTokens !== undefined) {
        for (const i of items) {
          if (i.kind === "tokens") i.count = opts.countTokens(i.text);
        }
      }
      for (const item of items) {
        switch (item.kind) {
          case "tokens":
            tokens++;
            yield {
              kind: "tokens",
              tNs,
              count: item.count,
              channel: item.channel,
              text: item.text,
            };
            break;
          case "timings": {
            const { kind: _, ...t } = item;
            yield { kind: "server_timings", tNs, ...t };
            break;
          }
          case "usage": {
            const { promptTokens, completionTokens, cachedTokens } = item;
            yield cachedTokens === undefined
              ? { kind: "usage", tNs, promptTokens, completionTokens }
              : {
                kind: "usage",
                tNs,
                promptTokens,
                completionTokens,
                cachedTokens,
              };
            break;
          }
          case "finish":
            finish = item.reason;
            break;
          case "done":
            return { kind: "done", tNs, finishReason: finish ?? "unknown" };
          case "error":
            return {
              kind: "error",
              tNs,
              errorKind: item.errorKind,
              message: `${opts.label}: ${item.message}`,
            };
        }
      }
    }
    if (sse.failure !== undefined) {
      return {
        kind: "error",
        tNs,
        errorKind: "protocol",
        message:
          `${opts.label}: ${opts.source} sent ${sse.failure} after ${tokens} token chunks: not an event stream an OpenAI server sends; reading stopped`,
      };
    }
    if (bytes > maxBody) {
      return {
        kind: "error",
        tNs,
        errorKind: "protocol",
        message:
          `${opts.label}: ${opts.source} sent a body of ${bytes} bytes, more than the ${maxBody} allowed (maxBodyBytes), after ${tokens} token chunks; reading stopped`,
      };
    }
    if (chunk.done) {
      if (tokens > 0) {
        return { kind: "done", tNs, finishReason: finish ?? "eos_no_done" };
      }
      const start = head === undefined
        ? ""
        : `, body starts ${JSON.stringify(new TextDecoder().decode(head))}`;
      return {
        kind: "error",
        tNs,
        errorKind: "protocol",
        message:
          `${opts.label}: ${opts.source} stream closed after ${bytes} bytes without [DONE] and without tokens (content-type ${
            JSON.stringify(opts.contentType ?? null)
          }${start})`,
      };
    }
  }
}

/** The running output count a chunk states: usage's `completion_tokens`, else `predicted_n`. */
function runningCount(items: readonly ChunkItem[]): number | undefined {
  for (const i of items) if (i.kind === "usage") return i.completionTokens;
  for (const i of items) {
    if (i.kind === "timings" && i.predictedTokens !== undefined) {
      return i.predictedTokens;
    }
  }
  return undefined;
}
