/**
 * Turns the body of a streaming OpenAI response into timed {@linkcode StreamEvent}s.
 *
 * @module
 */
import type { StreamEvent, StreamSink } from "../backend.ts";
import { eventSink, pull } from "../stream_sink.ts";
import type { ChunkReader } from "./_http.ts";
import { type ChunkItem, interpretChunk } from "./chunk.ts";
import { ChunkScanner } from "./chunk_scan.ts";
import type { SseLimits } from "./sse.ts";
import { SseFramer } from "./sse_bytes.ts";

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
   * `fast` (default): SSE framing on bytes and the known chunk shapes read without
   * `JSON.parse` (see {@linkcode pumpEvents}); `full`: the general SSE parser and `JSON.parse`
   * of every chunk, as before. Both give the same events; `full` is the reference the fast
   * path is tested against.
   */
  parse?: "fast" | "full";
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
 * The pull form of {@linkcode pumpEvents}, which documents what is read and how it is timed.
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
export function streamEvents(
  reader: ChunkReader,
  opts: StreamEventsOptions,
): AsyncGenerator<ProgressEvent, TerminalEvent, undefined> {
  return pull<ProgressEvent, TerminalEvent>((push) =>
    pumpEvents(reader, opts, eventSink(push as (ev: StreamEvent) => void))
  );
}

/**
 * Reads an SSE response body to its end or to `[DONE]`, pushing `first_byte`, `tokens`,
 * `usage` and `server_timings` into `sink` as each read is parsed, and resolves with the
 * terminal event (it does not push it).
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
 * The read loop allocates almost nothing per chunk: SSE framing runs on the bytes
 * (`SseFramer`), and a chunk of the known shape is read by `ChunkScanner` without `JSON.parse`;
 * anything else (an error object, tool calls, llama.cpp timings, malformed JSON) is parsed in
 * full by `interpretChunk`, which gives the same items for every chunk the scanner reads.
 *
 * @example
 * ```ts
 * import { pumpEvents } from "./stream_events.ts";
 * const body = new Response('data: {"choices":[{"text":"a"}]}\n\ndata: [DONE]\n\n').body!;
 * let tokens = 0;
 * const end = await pumpEvents(body.getReader(), {
 *   nowNs: () => 7n,
 *   label: "Request 0",
 *   source: "recorded stream",
 * }, { tokens: (_t, n) => void (tokens += n), usage: () => {}, event: () => {} });
 * console.log(tokens, end); // 1 { kind: "done", tNs: 7n, finishReason: "unknown" }
 * ```
 */
export async function pumpEvents(
  reader: ChunkReader,
  opts: StreamEventsOptions,
  sink: StreamSink,
): Promise<TerminalEvent> {
  const now = opts.nowNs;
  const countTokens = opts.countTokens;
  const wantText = sink.wantsText === true || countTokens !== undefined;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const scanner = new ChunkScanner();
  let tokens = 0;
  /** The server's running count of output tokens, as of the last chunk that stated it. */
  let served = 0;
  let bytes = 0;
  let finish: string | undefined;
  let head: Uint8Array | undefined;
  /** The time of the read being parsed. */
  let tNs = 0n;
  let terminal: TerminalEvent | undefined;

  /** Acts on the first `n` of `items`, one chunk's. */
  const apply = (items: readonly ChunkItem[], n: number) => {
    let running: number | undefined;
    let tokenItems = 0;
    for (let k = 0; k < n; k++) {
      const i = items[k];
      if (i.kind === "tokens") tokenItems++;
      else if (i.kind === "usage" && running === undefined) {
        running = i.completionTokens;
      }
    }
    if (running === undefined) running = predictedCount(items, n);
    if (running !== undefined) {
      if (tokenItems === 1 && running > served) {
        for (let k = 0; k < n; k++) {
          const i = items[k];
          if (i.kind === "tokens") i.count = running - served;
        }
      }
      served = Math.max(served, running);
    } else if (countTokens !== undefined) {
      for (let k = 0; k < n; k++) {
        const i = items[k];
        if (i.kind === "tokens") i.count = countTokens(i.text);
      }
    }
    for (let k = 0; k < n; k++) {
      const item = items[k];
      switch (item.kind) {
        case "tokens":
          tokens++;
          sink.tokens(
            tNs,
            item.count,
            item.channel,
            wantText ? item.text : undefined,
          );
          break;
        case "timings": {
          const { kind: _, ...t } = item;
          sink.event({ kind: "server_timings", tNs, ...t });
          break;
        }
        case "usage":
          sink.usage(
            tNs,
            item.promptTokens,
            item.completionTokens,
            item.cachedTokens,
          );
          break;
        case "finish":
          finish = item.reason;
          break;
        case "done":
          terminal = { kind: "done", tNs, finishReason: finish ?? "unknown" };
          framer.stop();
          return;
        case "error":
          terminal = {
            kind: "error",
            tNs,
            errorKind: item.errorKind,
            message: `${opts.label}: ${item.message}`,
          };
          framer.stop();
          return;
      }
    }
  };
  const framer = new SseFramer(
    {
      data(b, s, e, index) {
        const n = scanner.scanInto(b, s, e, wantText);
        if (n >= 0) return apply(scanner.items, n);
        const items = interpretChunk(utf8.decode(b.subarray(s, e)), index);
        apply(items, items.length);
      },
      text(data, index) {
        const items = interpretChunk(data, index);
        apply(items, items.length);
      },
    },
    opts.sse,
    opts.parse === "full",
  );

  while (true) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      const t = now();
      if (opts.onReadError !== undefined) {
        return opts.onReadError(e, t, tokens);
      }
      return {
        kind: "error",
        tNs: t,
        errorKind: "network",
        message: `${opts.label}: reading ${opts.source} failed: ${
          (e as Error)?.message ?? e
        }`,
      };
    }
    if (!chunk.done && chunk.value.length === 0) continue;
    // One time per read, taken before parsing: the kernel's receive time where the reader
    // has it (adapters/native_tcp.ts), else now.
    const ago = chunk.done ? -1 : (reader.receivedAgoNs?.() ?? -1);
    tNs = now();
    if (ago > 0) tNs -= BigInt(Math.round(ago));
    if (chunk.done) {
      framer.end();
    } else {
      if (head === undefined) {
        head = chunk.value.slice(0, 200);
        sink.event({ kind: "first_byte", tNs });
      }
      bytes += chunk.value.length;
      framer.push(chunk.value);
    }
    if (terminal !== undefined) return terminal;
    if (framer.failure !== undefined) {
      return {
        kind: "error",
        tNs,
        errorKind: "protocol",
        message:
          `${opts.label}: ${opts.source} sent ${framer.failure} after ${tokens} token chunks: not an event stream an OpenAI server sends; reading stopped`,
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

// A byte-order mark at the start of an event is text: kept, as the stream decoder keeps it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** llama.cpp's running output count (`timings.predicted_n`), when a chunk states it. */
function predictedCount(
  items: readonly ChunkItem[],
  n: number,
): number | undefined {
  for (let k = 0; k < n; k++) {
    const i = items[k];
    if (i.kind === "timings" && i.predictedTokens !== undefined) {
      return i.predictedTokens;
    }
  }
  return undefined;
}
