/**
 * Request bodies of the engine's OpenAI-compatible endpoints, validated with zod; a failure
 * becomes a 400 whose message names the field. Fields the engine cannot honour are refused by
 * `unsupportedField` (unsupported.ts) after this validation.
 *
 * @module
 */
import { z } from "zod";

const common = {
  model: z.string().nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  min_tokens: z.number().int().min(0).nullish(),
  ignore_eos: z.boolean().nullish(),
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(0xffffffff).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).max(64).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({
    include_usage: z.boolean().nullish(),
    continuous_usage_stats: z.boolean().nullish(),
  }).nullish(),
  skip_special_tokens: z.boolean().nullish(),
  add_special_tokens: z.boolean().nullish(),
  n: z.number().int().min(1).max(16).nullish(),
};

/** `POST /v1/completions`: a text prompt or one prompt of token ids. */
export const CompletionBody = z.looseObject({
  ...common,
  logprobs: z.number().int().min(0).max(20).nullish(),
  prompt: z.union([
    z.string().min(1),
    z.array(z.number().int().min(0)).min(1),
    // A batch: one choice (or n) per prompt.
    z.array(z.string().min(1)).min(1).max(64),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1).max(64),
  ]),
});

const TextPart = z.looseObject({
  type: z.string(),
  text: z.string().nullish(),
});

/** One chat message as clients send it: content as text or as content parts. */
export const ChatMessageBody = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(TextPart)]).nullish(),
  name: z.string().nullish(),
  tool_call_id: z.string().nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
});

/** `POST /v1/chat/completions`. */
export const ChatBody = z.looseObject({
  ...common,
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  messages: z.array(ChatMessageBody).min(1),
});

/** A validated completions body. */
export type CompletionRequest = z.infer<typeof CompletionBody>;
/** A validated chat body. */
export type ChatRequest = z.infer<typeof ChatBody>;
/** One validated chat message. */
export type ChatMessageRequest = z.infer<typeof ChatMessageBody>;

/** The outcome of {@link parseBody}. */
export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; message: string; param: string | null };

/**
 * Validates `json` against `schema`; the first issue becomes a message naming its field.
 *
 * @example
 * ```ts
 * import { CompletionBody, parseBody } from "./schemas.ts";
 * const r = parseBody(CompletionBody, { prompt: "hi", max_tokens: 0 });
 * console.log(r.ok ? "" : r.message); // Field "max_tokens": Too small: expected number to be >=1
 * ```
 */
export function parseBody<T>(schema: z.ZodType<T>, json: unknown): Parsed<T> {
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const param = issue.path.length > 0 ? issue.path.join(".") : null;
  return {
    ok: false,
    param,
    message: param === null
      ? `Request body: ${issue.message}`
      : `Field "${param}": ${issue.message}`,
  };
}
