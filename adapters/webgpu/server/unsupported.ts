/**
 * The request fields `tokentrace serve` cannot honour: each is refused with a 400 naming the
 * field, the value seen and what to do, instead of being dropped silently (a benchmark that
 * asked for penalties or log-probabilities and got neither would measure something else).
 *
 * Fields set to their "off" value (`logprobs: null`, `best_of: 1`, `presence_penalty: 0`,
 * `top_k: -1`, ...) are accepted, as clients such as vLLM's benchmark send them. Log-probabilities
 * of the sampled tokens are computed (chat `logprobs: true`, completions `logprobs: 0`), ranked
 * alternatives are not (`top_logprobs` >= 1, completions `logprobs` >= 1). Fields that do
 * not change the output (`user`, `metadata`, `store`, ...) are accepted and ignored. Any other
 * field the server does not know is refused too.
 *
 * @module
 */

/** A refused field: its name (OpenAI `param`) and the message. */
export interface Refusal {
  param: string;
  message: string;
}

/** Accepted and ignored: they do not change what is generated. */
const IGNORED = new Set([
  "user",
  "metadata",
  "store",
  "service_tier",
  "parallel_tool_calls",
  "safety_identifier",
  "prompt_cache_key",
  "request_id",
  "priority",
]);

/** Fields the schemas validate and the server implements. */
const KNOWN = new Set([
  "model",
  "prompt",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "min_tokens",
  "ignore_eos",
  "temperature",
  "top_p",
  "seed",
  "stop",
  "stop_token_ids",
  "stream",
  "stream_options",
  "skip_special_tokens",
  "add_special_tokens",
  "n",
  "logprobs",
  "top_logprobs",
]);

type Off = (v: unknown) => boolean;
const nil: Off = (v) => v === null || v === undefined;
const isFalse: Off = (v) => nil(v) || v === false;
const zero: Off = (v) => nil(v) || v === 0;
const one: Off = (v) => nil(v) || v === 1;
const empty: Off = (v) =>
  nil(v) || (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && Object.keys(v as object).length === 0) || v === "";

/** Known fields the engine cannot honour, with their accepted "off" values and why. */
const REFUSED: Record<string, { off: Off; why: string }> = {
  echo: { off: isFalse, why: "the prompt is not echoed" },
  best_of: { off: one, why: "one candidate is generated per choice" },
  suffix: { off: empty, why: "insertion (suffix) is not supported" },
  logit_bias: { off: empty, why: "logit bias is not applied" },
  presence_penalty: { off: zero, why: "penalties are not applied" },
  frequency_penalty: { off: zero, why: "penalties are not applied" },
  repetition_penalty: { off: one, why: "penalties are not applied" },
  top_k: {
    off: (v) => nil(v) || v === -1 || v === 0,
    why: "top-k is not applied (temperature and top_p are)",
  },
  min_p: { off: zero, why: "min-p is not applied" },
  use_beam_search: { off: isFalse, why: "beam search is not supported" },
  tools: { off: empty, why: "tool calling is not supported" },
  tool_choice: {
    off: (v) => nil(v) || v === "none" || v === "auto",
    why: "tool calling is not supported",
  },
  functions: { off: empty, why: "function calling is not supported" },
  function_call: {
    off: (v) => nil(v) || v === "none" || v === "auto",
    why: "function calling is not supported",
  },
  response_format: {
    off: (v) =>
      nil(v) ||
      (typeof v === "object" && (v as Record<string, unknown>).type === "text"),
    why: "structured output (JSON mode, schemas) is not supported",
  },
  modalities: {
    off: (v) =>
      nil(v) || (Array.isArray(v) && v.length === 1 && v[0] === "text"),
    why: "only text output is produced",
  },
  audio: { off: nil, why: "audio output is not supported" },
  prediction: { off: nil, why: "predicted outputs are not supported" },
  reasoning_effort: { off: nil, why: "the model has no reasoning setting" },
  web_search_options: { off: nil, why: "web search is not supported" },
  include_stop_str_in_output: {
    off: isFalse,
    why: "stop strings are never included in the output",
  },
  chat_template: {
    off: nil,
    why: "the checkpoint's own chat template is always used",
  },
  chat_template_kwargs: {
    off: empty,
    why: "template arguments are not passed",
  },
};

/**
 * The first field of `body` the server cannot honour, or null.
 *
 * @example
 * ```ts
 * import { unsupportedField } from "./unsupported.ts";
 * console.log(unsupportedField({ prompt: "hi", best_of: 1, logprobs: 0 })); // null
 * console.log(unsupportedField({ prompt: "hi", presence_penalty: 0.5 })?.param); // presence_penalty
 * ```
 */
export function unsupportedField(
  body: Record<string, unknown>,
): Refusal | null {
  for (const [key, value] of Object.entries(body)) {
    if (KNOWN.has(key) || IGNORED.has(key)) continue;
    const rule = REFUSED[key];
    if (rule !== undefined) {
      if (rule.off(value)) continue;
      return {
        param: key,
        message: `Field "${key}": got ${
          show(value)
        }, but tokentrace serve cannot honour it: ${rule.why}; leave it out`,
      };
    }
    return {
      param: key,
      message: `Field "${key}": not a parameter tokentrace serve knows (got ${
        show(value)
      }); leave it out`,
    };
  }
  const top = body.top_logprobs;
  if (typeof top === "number" && top > 0) {
    return {
      param: "top_logprobs",
      message:
        `Field "top_logprobs": got ${top}, but tokentrace serve cannot honour it: alternatives are not ranked (the log-probability of each sampled token is computed); send 0 or leave it out`,
    };
  }
  const lp = body.logprobs;
  if ("prompt" in body && typeof lp === "number" && lp > 0) {
    return {
      param: "logprobs",
      message:
        `Field "logprobs": got ${lp}, but tokentrace serve cannot honour it: alternatives are not ranked; send 0 for the log-probability of each sampled token`,
    };
  }
  return null;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
