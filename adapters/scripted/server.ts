/**
 * A scripted OpenAI-compatible streaming server whose send times are known.
 *
 * Each request streams `max_tokens` one-token chunks: the first at `ttftBaseMs +
 * ttftPerInputTokenMs * promptTokens` after the request arrived, then one every `itlMs`.
 * Send times are absolute targets (no drift; one timer wakes every stream whose chunk is due, so
 * a chunk leaves at most `SEND_SLACK_MS` early and late by the timer's delay), and the time each
 * chunk was actually handed to the socket is kept in `sendLog`, so a client's measurements can
 * be checked against the truth.
 * It is the harness's calibration peer and the backend of `deno task bench` until the
 * built-in engine serves.
 *
 * @module
 */
import { Hono } from "hono";
import { onSocketWrite } from "./raw_http.ts";

/** When the scripted server sends. All values in milliseconds. */
export interface ScriptedTiming {
  /** Fixed part of the time to first token. Default 20. */
  ttftBaseMs: number;
  /** Time to first token added per prompt token. Default 0.02 (50k tokens/s prefill). */
  ttftPerInputTokenMs: number;
  /** Gap between consecutive tokens. Default 10. */
  itlMs: number;
}

/** Options for {@linkcode createScriptedApp}. */
export interface ScriptedServerOptions {
  /** How the server times its replies; missing fields take the defaults. */
  timing?: Partial<ScriptedTiming>;
  /** Model id reported by `/v1/models` and in chunks. Default `scripted`. */
  model?: string;
  /** Answers HTTP 500 to a request when this returns true (`ordinal` counts from 0). */
  failWhen?: (ordinal: number, requestId: string | undefined) => boolean;
  /** Answers HTTP 500 to every `failEvery`-th request (ordinals k-1, 2k-1, ...); serializable. */
  failEvery?: number;
  /** The HTTP status of the failures above. Default 500. */
  failStatus?: number;
  /**
   * Multiplies the time to first token (base + per-prompt-token part): 1.2 injects a +20 % TTFT
   * regression, for checking that regression gates catch it. Default 1.
   */
  ttftScale?: number;
  /**
   * Sends this many token chunks in one write, at the time of the last of them, as a server
   * that batches its output would (the client then reads them together: 0 ms gaps). Default 1.
   */
  chunksPerWrite?: number;
  /** Keep the send times of every request in `sendLog`. Default true. */
  recordSends?: boolean;
  /**
   * When a send time is taken: `write`, right before the bytes go to the socket (needs the app
   * served by adapters/scripted/raw_http.ts, which reports each write; a server short of CPU
   * then still logs when the bytes left), or `enqueue` (default), when the chunk is handed to
   * the response body (any server; what the HTTP stack does after that is not seen).
   */
  sendTimes?: "enqueue" | "write";
  /** Wait this long before answering with headers, in ms (to provoke connect timeouts). */
  headerDelayMs?: number;
  /** Stop sending after this many tokens and hold the stream open (to provoke idle timeouts). */
  stallAfterTokens?: number;
  /**
   * Serve `GET /_tokentrace/send_log`: `{ [requestId]: epochMs[] }` and `GET
   * /_tokentrace/arrivals`: `{ [requestId]: epochMs }` (Unix-epoch milliseconds, comparable
   * across processes), so a harness in another process can check itself. Default false.
   */
  exposeSendLog?: boolean;
}

/** The scripted server's hono app (`app.fetch` serves, `app.request` answers in-process). */
export type ScriptedApp = Hono;

/** The state a scripted server exposes to its owner. */
export interface ScriptedServer {
  /** The hono app; `app.fetch` is the handler for `Deno.serve`. */
  app: ScriptedApp;
  /**
   * Per `x-request-id` header: `performance.now()` just before each token chunk was enqueued on
   * the response body, or written to the socket (`sendTimes: "write"`).
   */
  sendLog: Map<string, number[]>;
  /** Per `x-request-id` header: `performance.now()` when the request arrived. */
  arrivals: Map<string, number>;
  /**
   * Requests received, failed on purpose, finished, and cancelled by the client; token chunks
   * written (a readiness signal for tests: "tokens are streaming").
   */
  stats: {
    received: number;
    failed: number;
    finished: number;
    cancelled: number;
    chunks: number;
  };
  /** The timing the server streams with (its options, defaults filled in). */
  timing: ScriptedTiming;
}

const encoder = new TextEncoder();

/**
 * Builds a scripted server; it does not listen (the caller passes `app.fetch` to `Deno.serve`).
 *
 * @example
 * ```ts
 * import { createScriptedApp } from "./server.ts";
 * const s = createScriptedApp({ timing: { ttftBaseMs: 1, itlMs: 1 } });
 * const res = await s.app.request("/v1/completions", {
 *   method: "POST",
 *   body: JSON.stringify({ model: "scripted", prompt: [1, 2, 3], max_tokens: 2, stream: true }),
 * });
 * console.log((await res.text()).includes("[DONE]")); // true
 * ```
 */
export function createScriptedApp(
  opts: ScriptedServerOptions = {},
): ScriptedServer {
  const timing: ScriptedTiming = {
    ttftBaseMs: 20,
    ttftPerInputTokenMs: 0.02,
    itlMs: 10,
    ...opts.timing,
  };
  const model = opts.model ?? "scripted";
  const recordSends = opts.recordSends ?? true;
  const atWrite = opts.sendTimes === "write";
  const clock = new SendClock();
  const sendLog = new Map<string, number[]>();
  const arrivals = new Map<string, number>();
  const stats = {
    received: 0,
    failed: 0,
    finished: 0,
    cancelled: 0,
    chunks: 0,
  };
  const app = new Hono();

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: model, object: "model", owned_by: "tokentrace-scripted" }],
    }));

  const handle = (chat: boolean) => async (c: import("hono").Context) => {
    const arrived = performance.now();
    const ordinal = stats.received++;
    const requestId = c.req.header("x-request-id");
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      return c.json({
        error: {
          message: "Body is not valid JSON",
          type: "invalid_request_error",
        },
      }, 400);
    }
    const failByCount = opts.failEvery !== undefined &&
      (ordinal + 1) % opts.failEvery === 0;
    if (failByCount || opts.failWhen?.(ordinal, requestId)) {
      stats.failed++;
      const status = (opts.failStatus ?? 500) as 500;
      return c.json({
        error: {
          message: `Scripted failure (HTTP ${status})`,
          type: status < 500 ? "invalid_request_error" : "server_error",
        },
      }, status);
    }
    const maxTokens = Number(body.max_tokens ?? 16);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      return c.json({
        error: {
          message: `max_tokens must be an integer >= 1, got ${body.max_tokens}`,
          type: "invalid_request_error",
        },
      }, 400);
    }
    const promptTokens = countPromptTokens(body, chat);
    if (opts.headerDelayMs) {
      await new Promise((r) => setTimeout(r, opts.headerDelayMs));
    }
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)
        ?.include_usage === true;
    const times = sendLog.get(requestId ?? String(ordinal)) ?? [];
    if (recordSends) {
      sendLog.set(requestId ?? String(ordinal), times);
      arrivals.set(requestId ?? String(ordinal), arrived);
    }
    const id = `${chat ? "chatcmpl" : "cmpl"}-${ordinal}`;
    const created = Math.floor(Date.now() / 1000);
    const object = chat ? "chat.completion.chunk" : "text_completion";
    const ttft = (opts.ttftScale ?? 1) *
      (timing.ttftBaseMs + timing.ttftPerInputTokenMs * promptTokens);
    const perWrite = Math.max(1, Math.floor(opts.chunksPerWrite ?? 1));
    let pending: Uint8Array[] = [];
    let cancelled = false;
    let wakeStalled = () => {};

    const chunk = (choice: Record<string, unknown> | null, usage?: unknown) =>
      encoder.encode(
        `data: ${
          JSON.stringify({
            id,
            object,
            created,
            model,
            choices: choice ? [choice] : [],
            ...(usage ? { usage } : {}),
          })
        }\n\n`,
      );

    const stream = new ReadableStream<Uint8Array>({
      async start(ctl) {
        if (chat) {
          ctl.enqueue(
            chunk({
              index: 0,
              delta: { role: "assistant", content: "" },
              finish_reason: null,
            }),
          );
        }
        for (let k = 0; k < maxTokens; k++) {
          if (k === opts.stallAfterTokens) {
            await new Promise<void>((r) => (wakeStalled = r)); // until the client goes away
            return;
          }
          const last = k === maxTokens - 1;
          const text = `t${k} `;
          const choice = chat
            ? {
              index: 0,
              delta: { content: text },
              finish_reason: last ? "length" : null,
            }
            : { index: 0, text, finish_reason: last ? "length" : null };
          // Encoded before the wait, so the recorded send time is right before the write.
          pending.push(chunk(choice));
          if (pending.length < perWrite && !last) continue;
          const bytes = pending.length === 1 ? pending[0] : concat(pending);
          const count = pending.length;
          pending = [];
          await clock.at(arrived + ttft + k * timing.itlMs);
          if (cancelled) return;
          if (recordSends && atWrite) {
            onSocketWrite(bytes, (t) => {
              for (let i = 0; i < count; i++) times.push(t);
            });
          } else if (recordSends) {
            const t = performance.now();
            for (let i = 0; i < count; i++) times.push(t);
          }
          ctl.enqueue(bytes);
          stats.chunks++;
        }
        if (includeUsage) {
          ctl.enqueue(
            chunk(null, {
              prompt_tokens: promptTokens,
              completion_tokens: maxTokens,
              total_tokens: promptTokens + maxTokens,
            }),
          );
        }
        ctl.enqueue(encoder.encode("data: [DONE]\n\n"));
        stats.finished++;
        ctl.close();
      },
      cancel() {
        cancelled = true;
        wakeStalled();
        stats.cancelled++;
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
      },
    });
  };

  if (opts.exposeSendLog) {
    app.get("/_tokentrace/arrivals", (c) => {
      const origin = performance.timeOrigin;
      const out: Record<string, number> = {};
      for (const [k, t] of arrivals) out[k] = origin + t;
      return c.json(out);
    });
    app.get("/_tokentrace/send_log", (c) => {
      const origin = performance.timeOrigin;
      const out: Record<string, number[]> = {};
      for (const [k, v] of sendLog) out[k] = v.map((t) => origin + t);
      return c.json(out);
    });
  }

  app.post("/v1/completions", handle(false));
  app.post("/v1/chat/completions", handle(true));
  return { app, sendLog, arrivals, stats, timing };
}

/** Prompt length as the scripted server counts it: ids, or whitespace-separated words. */
function countPromptTokens(
  body: Record<string, unknown>,
  chat: boolean,
): number {
  const words = (s: unknown) =>
    typeof s === "string" ? s.split(/\s+/).filter(Boolean).length : 0;
  if (chat) {
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    return msgs.reduce(
      (n: number, m: { content?: unknown }) => n + words(m?.content),
      0,
    );
  }
  const p = body.prompt;
  if (Array.isArray(p)) return p.length;
  return words(p);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A chunk due within this many ms of a wake-up goes with it (one timer for all streams). */
export const SEND_SLACK_MS = 0.25;

/**
 * Wakes waiters at their target `performance.now()` times with one timer for all of them: at
 * 256 streams a timer per stream (and a spin on `setTimeout(0)` for each one's last
 * millisecond) cost the server most of a core, and a server short of CPU sends late.
 */
class SendClock {
  /** A binary min-heap on `t`. */
  private readonly heap: { t: number; wake: () => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Infinity;

  /** Resolves at `t` (ms, `performance.now()`), at most `SEND_SLACK_MS` early. */
  at(t: number): Promise<void> {
    if (t <= performance.now() + SEND_SLACK_MS) return Promise.resolve();
    return new Promise<void>((wake) => {
      this.push({ t, wake });
      if (t < this.armedFor) this.arm(t);
    });
  }

  private arm(t: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = t;
    const delay = Math.max(0, t - SEND_SLACK_MS - performance.now());
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const until = performance.now() + SEND_SLACK_MS;
    while (this.heap.length > 0 && this.heap[0].t <= until) this.pop().wake();
    if (this.heap.length > 0) this.arm(this.heap[0].t);
  }

  private push(e: { t: number; wake: () => void }): void {
    const h = this.heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].t <= e.t) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private pop(): { t: number; wake: () => void } {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1].t < h[l].t ? l + 1 : l;
        if (h[c].t >= last.t) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
