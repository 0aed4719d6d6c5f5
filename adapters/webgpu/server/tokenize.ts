/**
 * `POST /tokenize` and `POST /detokenize` of `tokentrace serve`, in vLLM's shapes (outside
 * `/v1`, as vLLM serves them): a completions prompt or chat messages to ids with the server's
 * own codec, and ids back to text. A client can count its prompt exactly as the server will.
 *
 * - `/tokenize` `{"prompt": "...", "add_special_tokens": true}` or `{"messages": [...]}` ->
 *   `{"count", "max_model_len", "tokens", "token_strs"}` (`token_strs` with `return_token_strs`).
 * - `/detokenize` `{"tokens": [...]}` -> `{"prompt": "..."}`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { ChatTemplateError } from "../../../workloads/chat_template.ts";
import type { TextCodec } from "../text/codec.ts";
import { templateMessages } from "./chat.ts";
import {
  ChatMessageBody,
  type ChatMessageRequest,
  parseBody,
} from "./schemas.ts";

const TokenizeBody = z.union([
  z.looseObject({
    model: z.string().nullish(),
    prompt: z.string(),
    add_special_tokens: z.boolean().nullish(),
    return_token_strs: z.boolean().nullish(),
  }),
  z.looseObject({
    model: z.string().nullish(),
    messages: z.array(ChatMessageBody).min(1),
    add_special_tokens: z.boolean().nullish(),
    return_token_strs: z.boolean().nullish(),
  }),
]);

const DetokenizeBody = z.looseObject({
  model: z.string().nullish(),
  tokens: z.array(z.number().int().min(0)),
});

/** What the routes need. */
export interface TokenizeRoutesOptions {
  codec: TextCodec;
  /** Prompt + output tokens accepted (the same number `/v1/models` states). */
  maxModelLen: number;
  /** The model vocabulary: ids at or above it are refused by `/detokenize`. */
  vocab: number;
  /** Answers an error in the OpenAI shape. */
  fail: (
    c: Context,
    status: 400,
    message: string,
    param: string | null,
  ) => Response;
}

/**
 * Adds `/tokenize` and `/detokenize` to `app`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { byteCodec } from "../text/codec.ts";
 * import { addTokenizeRoutes } from "./tokenize.ts";
 * const app = new Hono();
 * addTokenizeRoutes(app, { codec: byteCodec(), maxModelLen: 64, vocab: 256, fail: (c, s, m) => c.json({ m }, s) });
 * const r = await app.request("/tokenize", { method: "POST", body: JSON.stringify({ prompt: "hi" }) });
 * console.log(await r.json()); // { count: 2, max_model_len: 64, tokens: [ 104, 105 ] }
 * ```
 */
export function addTokenizeRoutes(app: Hono, o: TokenizeRoutesOptions): void {
  const body = async (c: Context): Promise<unknown | Response> => {
    try {
      return await c.req.json();
    } catch (e) {
      return o.fail(
        c,
        400,
        `Body is not valid JSON: ${(e as Error).message}`,
        null,
      );
    }
  };
  app.post("/tokenize", async (c) => {
    const json = await body(c);
    if (json instanceof Response) return json;
    const r = parseBody(TokenizeBody, json);
    if (!r.ok) return o.fail(c, 400, r.message, r.param);
    const b = r.value;
    let tokens: number[];
    if (!("prompt" in b && typeof b.prompt === "string")) {
      const m = templateMessages(b.messages as ChatMessageRequest[]);
      if (!m.ok) return o.fail(c, 400, m.message, m.param);
      try {
        const text = o.codec.chatText(m.messages);
        tokens = b.add_special_tokens
          ? o.codec.encode(text, true)
          : o.codec.encodeChat(text);
      } catch (e) {
        if (!(e instanceof ChatTemplateError)) throw e;
        return o.fail(c, 400, `Field "messages": ${e.message}`, "messages");
      }
    } else {
      tokens = o.codec.encode(b.prompt, b.add_special_tokens ?? true);
    }
    const out: Record<string, unknown> = {
      count: tokens.length,
      max_model_len: o.maxModelLen,
      tokens,
    };
    if (b.return_token_strs) {
      out.token_strs = tokens.map((t) => o.codec.tokenString(t));
    }
    return c.json(out);
  });
  app.post("/detokenize", async (c) => {
    const json = await body(c);
    if (json instanceof Response) return json;
    const r = parseBody(DetokenizeBody, json);
    if (!r.ok) return o.fail(c, 400, r.message, r.param);
    const bad = r.value.tokens.findIndex((t) => t >= o.vocab);
    if (bad >= 0) {
      return o.fail(
        c,
        400,
        `Field "tokens.${bad}": expected a token id in [0, ${o.vocab}), got ${
          r.value.tokens[bad]
        }`,
        `tokens.${bad}`,
      );
    }
    return c.json({ prompt: o.codec.decode(r.value.tokens, false) });
  });
}
