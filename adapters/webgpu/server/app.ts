/**
 * The engine's OpenAI-compatible HTTP app (hono): `/v1/models`, `/v1/completions`,
 * `/v1/chat/completions` (streaming or not), `/tokenize`, `/detokenize`, `/health` and
 * `/metrics`.
 *
 * Requests: `model`, when given, must be the served name (404 otherwise); chat messages may
 * carry content parts and the `developer` (as system) and `tool` roles; a field the engine
 * cannot honour is a 400 naming it (unsupported.ts). Text goes through the codec: the
 * checkpoint's tokenizer and chat template when it has them, else byte-level (text/codec.ts).
 * `/v1/models` states `max_model_len` (prompt + output tokens accepted, the one limit every
 * route applies), `vocab_size` and `steps_in_flight` (with more than one, tokens reach clients
 * in bursts: see generation.ts and README "Benchmarking tokentrace serve").
 *
 * Security rules (each has a test named after it in tests/adapters/webgpu/server/serve_app_test.ts):
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
import type { EngineInfo } from "../serving/serving_engine.ts";
import type { EngineLoop } from "../serving/engine_loop.ts";
import { QueueFullError, RequestError } from "../serving/engine_request.ts";
import { byteCodec, type TextCodec } from "../text/codec.ts";
import {
  type Choice,
  completeJson,
  completeStream,
  type Generation,
} from "./generation.ts";
import { type HttpCounters, renderMetrics } from "./metrics.ts";
import { bodyPrompts } from "./prompts.ts";
import { ChatBody, CompletionBody, parseBody } from "./schemas.ts";
import { ServeStats } from "./serve_stats.ts";
import { addTokenizeRoutes } from "./tokenize.ts";
import { unsupportedField } from "./unsupported.ts";

/** The hono app {@linkcode createServeApp} builds; `app.fetch` is the handler for `Deno.serve`. */
export type ServeApp = Hono;

/** Dependencies and options of {@link createServeApp}. */
export interface ServeAppOptions {
  /** The engine loop that runs the requests. */
  loop: EngineLoop;
  /** The engine's description (model, vocabulary, context). */
  info: Pick<EngineInfo, "model" | "maxContext" | "vocab"> & {
    stepsInFlight?: number;
  };
  /** Text in and out (default byte-level). */
  codec?: TextCodec;
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
  code: string | null = null,
) => c.json({ error: { message, type, param, code } }, status);

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
 * import { openServingEngine } from "../serving/serving_engine.ts";
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
export function createServeApp(opts: ServeAppOptions): ServeApp {
  const { loop, info } = opts;
  const model = opts.modelName ?? info.model;
  const nowS = opts.nowS ?? (() => Math.floor(Date.now() / 1000));
  const codec = opts.codec ?? byteCodec();
  const http: HttpCounters = { rejected: 0, invalid: 0 };
  const stats = new ServeStats();
  const app = new Hono();
  let serial = 0;
  // Prompt + output tokens the engine accepts: the last token sampled needs no KV slot, so a
  // context of maxContext positions holds maxContext + 1 tokens.
  const maxModelLen = info.maxContext + 1;
  const invalid = (
    c: Context,
    status: 400,
    message: string,
    param: string | null,
  ) => {
    http.invalid++;
    return openAiError(c, status, message, "invalid_request_error", param);
  };

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/metrics", (c) =>
    c.body(renderMetrics(loop, http, stats), 200, {
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
        max_model_len: maxModelLen,
        vocab_size: info.vocab,
        steps_in_flight: info.stepsInFlight ?? loop.stepsInFlight,
        tokenizer: codec.kind === "bytes" ? "byte-level" : "checkpoint",
      }],
    }));
  addTokenizeRoutes(app, {
    codec,
    maxModelLen,
    vocab: info.vocab,
    fail: invalid,
  });

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
    const arrivalNs = loop.nowNs();
    let b;
    if (api === "completions") {
      const r = parseBody(CompletionBody, json);
      if (!r.ok) return invalid(c, 400, r.message, r.param);
      b = r.value;
    } else {
      const r = parseBody(ChatBody, json);
      if (!r.ok) return invalid(c, 400, r.message, r.param);
      b = r.value;
      b.max_tokens ??= r.value.max_completion_tokens;
    }
    const refused = unsupportedField(b);
    if (refused) return invalid(c, 400, refused.message, refused.param);
    if (b.model != null && b.model !== model) {
      return openAiError(
        c,
        404,
        `Field "model": the model ${
          JSON.stringify(b.model)
        } does not exist here; this server serves ${
          JSON.stringify(model)
        } (GET /v1/models)`,
        "invalid_request_error",
        "model",
        "model_not_found",
      );
    }
    const parsed = bodyPrompts(b, codec);
    if (!parsed.ok) return invalid(c, 400, parsed.message, parsed.param);
    const prompts = parsed.prompts;
    const n = b.n ?? 1;
    const left = maxModelLen - Math.max(...prompts.map((p) => p.length));
    const maxTokens = b.max_tokens ??
      (api === "completions" ? Math.min(16, left) : Math.min(256, left));
    const temperature = b.temperature ?? 1;
    const id = `${api === "chat" ? "chatcmpl" : "cmpl"}-${++serial}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const seed = b.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    const created = nowS();
    // One choice per prompt and sample, index = prompt * n + sample (as vLLM numbers them).
    const choices: Choice[] = [];
    const one = prompts.length * n === 1;
    for (const [i, prompt] of prompts.entries()) {
      for (let k = 0; k < n; k++) {
        const g: Generation = {
          api,
          model,
          created,
          stop: b.stop == null
            ? []
            : typeof b.stop === "string"
            ? [b.stop]
            : b.stop,
          includeUsage: b.stream_options?.include_usage ?? false,
          continuousUsage: b.stream_options?.continuous_usage_stats ?? false,
          codec,
          skipSpecial: b.skip_special_tokens ?? true,
          logprobs: api === "chat"
            ? (b as { logprobs?: boolean | null }).logprobs === true
            : typeof (b as { logprobs?: number | null }).logprobs === "number",
          arrivalNs,
          stats,
          request: {
            id: one ? id : `${id}-${i * n + k}`,
            prompt,
            maxTokens,
            minTokens: b.min_tokens ?? 0,
            ignoreEos: b.ignore_eos ?? false,
            stopTokenIds: b.stop_token_ids ?? undefined,
            // Samples of one prompt differ by their seed; the draw depends on (seed, position).
            sampling: {
              temperature,
              topP: b.top_p ?? 1,
              seed: (seed + k) >>> 0,
            },
          },
        };
        try {
          const events = loop.submit(g.request, c.req.raw.signal);
          choices.push({ g, events, countsPrompt: k === 0 });
        } catch (e) {
          for (const done of choices) loop.cancel(done.g.request.id);
          const msg = (e as Error).message;
          if (e instanceof QueueFullError) {
            http.rejected++;
            return openAiError(c, 429, msg, "rate_limit_error");
          }
          if (e instanceof RequestError) {
            http.invalid++;
            return openAiError(c, 400, msg, "invalid_request_error", e.field);
          }
          // Not the request's fault (the engine is closing, or a bug): a server error.
          return openAiError(c, 500, msg, "server_error");
        }
      }
    }
    if (b.stream) {
      return new Response(completeStream(loop, id, choices), {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
        },
      });
    }
    try {
      return c.json(await completeJson(loop, id, choices));
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
