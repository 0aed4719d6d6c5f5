/**
 * The engine's OpenAI-compatible HTTP app (hono): `/v1/models`, `/v1/completions`,
 * `/v1/chat/completions` (streaming or not), `/health` and `/metrics`.
 *
 * Security rules (each has a test named after it in tests/adapters/webgpu/serve_app_test.ts):
 * - with an API key, every `/v1/*` route needs `Authorization: Bearer <key>` (401 otherwise;
 *   compared in constant time); `/health` and `/metrics` stay open;
 * - request bodies over `maxBodyBytes` are refused with 413;
 * - bodies are validated before anything runs: bad JSON or a bad field is a 400 naming it;
 * - a full queue answers 429 instead of queueing without bound;
 * - a client that disconnects has its sequence cancelled and its KV blocks freed.
 * The app never listens: `tokentrace serve` passes `app.fetch` to `Deno.serve` (127.0.0.1
 * unless told otherwise).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { EngineInfo } from "../serving_engine.ts";
import { type EngineLoop, QueueFullError } from "../engine_loop.ts";
import { chatPrompt, encodeText } from "../tokenizer.ts";
import { completeJson, completeStream, type Generation } from "./generation.ts";
import { type HttpCounters, renderMetrics } from "./metrics.ts";
import { ChatBody, CompletionBody, parseBody } from "./schemas.ts";

/** Dependencies and options of {@link createServeApp}. */
export interface ServeAppOptions {
  /** The engine loop that runs the requests. */
  loop: EngineLoop;
  /** The engine's description (model, vocabulary, context). */
  info: Pick<EngineInfo, "model" | "maxContext" | "vocab">;
  /** Model id served at `/v1/models` (default `info.model`). */
  modelName?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
  /** Unix time in seconds, for `created` (default the wall clock). */
  nowS?: () => number;
}

const openAiError = (
  c: Context,
  status: 400 | 401 | 404 | 413 | 429 | 500,
  message: string,
  type: string,
  param: string | null = null,
) => c.json({ error: { message, type, param, code: null } }, status);

/** Constant-time string equality (for the API key). */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0);
  }
  return diff === 0 && x.length === y.length;
}

/**
 * Builds the app; it does not listen.
 *
 * @example
 * ```ts
 * import { openServingEngine } from "../serving_engine.ts";
 * import { createServeApp } from "./app.ts";
 * const e = await openServingEngine({ model: "tiny", maxSeqs: 2, tokenBudget: 16, maxContext: 64 });
 * const app = createServeApp({ loop: e.loop, info: e.info });
 * const res = await app.request("/v1/completions", {
 *   method: "POST",
 *   body: JSON.stringify({ prompt: [1, 2, 3], max_tokens: 2, temperature: 0 }),
 * });
 * console.log((await res.json()).usage.completion_tokens <= 2); // true
 * await e.close();
 * ```
 */
export function createServeApp(opts: ServeAppOptions): Hono {
  const { loop, info } = opts;
  const model = opts.modelName ?? info.model;
  const nowS = opts.nowS ?? (() => Math.floor(Date.now() / 1000));
  const http: HttpCounters = { rejected: 0, invalid: 0 };
  const app = new Hono();
  let serial = 0;

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/metrics", (c) =>
    c.body(renderMetrics(loop, http), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: opts.maxBodyBytes ?? 4 * 1024 * 1024,
      onError: (c) =>
        openAiError(c, 413, "Request body too large", "invalid_request_error"),
    }),
  );
  if (opts.apiKey !== undefined) {
    const key = opts.apiKey;
    app.use("/v1/*", async (c, next) => {
      const h = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(h);
      if (!m || !sameSecret(m[1].trim(), key)) {
        return openAiError(
          c,
          401,
          "Missing or invalid API key: send Authorization: Bearer <key>",
          "authentication_error",
        );
      }
      await next();
    });
  }

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{
        id: model,
        object: "model",
        created: 0,
        owned_by: "tokentrace",
        // Prompt + output tokens the engine accepts: the last token sampled needs no KV slot,
        // so a context of maxContext positions holds maxContext + 1 tokens.
        max_model_len: info.maxContext + 1,
        vocab_size: info.vocab,
      }],
    }));

  const generate = (api: "completions" | "chat") => async (c: Context) => {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch (e) {
      http.invalid++;
      return openAiError(
        c,
        400,
        `Body is not valid JSON: ${(e as Error).message}`,
        "invalid_request_error",
      );
    }
    let prompt: number[];
    let b;
    if (api === "completions") {
      const r = parseBody(CompletionBody, json);
      if (!r.ok) {
        http.invalid++;
        return openAiError(c, 400, r.message, "invalid_request_error", r.param);
      }
      b = r.value;
      prompt = typeof b.prompt === "string" ? encodeText(b.prompt) : b.prompt;
    } else {
      const r = parseBody(ChatBody, json);
      if (!r.ok) {
        http.invalid++;
        return openAiError(c, 400, r.message, "invalid_request_error", r.param);
      }
      b = r.value;
      b.max_tokens ??= r.value.max_completion_tokens;
      prompt = encodeText(chatPrompt(r.value.messages));
    }
    const left = info.maxContext + 1 - prompt.length;
    const maxTokens = b.max_tokens ??
      (api === "completions" ? Math.min(16, left) : Math.min(256, left));
    const temperature = b.temperature ?? 1;
    const id = `${api === "chat" ? "chatcmpl" : "cmpl"}-${++serial}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const g: Generation = {
      api,
      model,
      created: nowS(),
      stop: b.stop === undefined || b.stop === null
        ? []
        : typeof b.stop === "string"
        ? [b.stop]
        : b.stop,
      includeUsage: b.stream_options?.include_usage ?? false,
      request: {
        id,
        prompt,
        maxTokens,
        minTokens: b.min_tokens ?? 0,
        ignoreEos: b.ignore_eos ?? false,
        sampling: {
          temperature,
          topP: b.top_p ?? 1,
          seed: b.seed ?? crypto.getRandomValues(new Uint32Array(1))[0],
        },
      },
    };
    let events;
    try {
      events = loop.submit(g.request, c.req.raw.signal);
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof QueueFullError) {
        http.rejected++;
        return openAiError(c, 429, msg, "rate_limit_error");
      }
      http.invalid++;
      const param = /max_tokens/.test(msg) ? "max_tokens" : "prompt";
      return openAiError(c, 400, msg, "invalid_request_error", param);
    }
    if (b.stream) {
      return new Response(completeStream(loop, events, g), {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
        },
      });
    }
    try {
      return c.json(await completeJson(loop, events, g));
    } catch (e) {
      return openAiError(c, 500, (e as Error).message, "server_error");
    }
  };

  app.post("/v1/completions", generate("completions"));
  app.post("/v1/chat/completions", generate("chat"));
  app.notFound((c) =>
    openAiError(c, 404, `No route ${c.req.method} ${c.req.path}`, "not_found")
  );
  return app;
}
