/**
 * Server families and the fields each is sent so that outputs have the planned length and the
 * stream says as much as the server can about its tokens.
 *
 * | kind | extra fields | why |
 * |---|---|---|
 * | `vllm`, `sglang` | `ignore_eos`, `min_tokens`, `stream_options.continuous_usage_stats` | exact output length; usage in every chunk gives the tokens each chunk stands for |
 * | `llamacpp` | `ignore_eos`, `timings_per_token` | llama-server has no `min_tokens`; its per-chunk `timings.predicted_n` counts tokens, its `timings` are the server's own times |
 * | `transformers` | `generation_config` (a JSON string: `min_new_tokens` = `max_new_tokens` = planned) | transformers serve refuses unknown fields (422), `min_tokens` included; its own `generation_config` field is accepted |
 * | `openai` | none | standard fields only (`max_tokens` on both APIs); EOS may end outputs early |
 * | `strict` | none | only fields of the OpenAI API reference in their current names: chat sends `max_completion_tokens`, not the deprecated `max_tokens` |
 *
 * @module
 */

/** The server family. */
export type EndpointKind =
  | "vllm"
  | "sglang"
  | "llamacpp"
  | "transformers"
  | "openai"
  | "strict";

/** Every kind, in the order help texts list them. */
export const ENDPOINT_KINDS: readonly EndpointKind[] = [
  "vllm",
  "sglang",
  "llamacpp",
  "transformers",
  "openai",
  "strict",
];

/**
 * Adds the length and stream fields of `kind` to `body` (which already holds `stream_options`).
 *
 * @example
 * ```ts
 * import { addKindFields } from "./endpoint_kinds.ts";
 * const body: Record<string, unknown> = { max_tokens: 8, stream_options: { include_usage: true } };
 * addKindFields(body, "llamacpp", "chat", 8);
 * console.log(body); // { max_tokens: 8, stream_options: { include_usage: true }, ignore_eos: true, timings_per_token: true }
 * ```
 */
export function addKindFields(
  body: Record<string, unknown>,
  kind: EndpointKind,
  api: "completions" | "chat",
  outputTokens: number,
): void {
  switch (kind) {
    case "vllm":
    case "sglang":
      body.ignore_eos = true;
      body.min_tokens = outputTokens;
      body.stream_options = {
        ...(body.stream_options as object),
        continuous_usage_stats: true,
      };
      break;
    case "llamacpp":
      body.ignore_eos = true;
      body.timings_per_token = true;
      break;
    case "transformers":
      body.generation_config = JSON.stringify({
        min_new_tokens: outputTokens,
        max_new_tokens: body.max_tokens ?? outputTokens,
      });
      break;
    case "strict":
      if (api === "chat") {
        body.max_completion_tokens = body.max_tokens;
        delete body.max_tokens;
      }
      break;
    case "openai":
      break;
  }
}

/**
 * The kind `--endpoint-kind auto` picks from a served model's `owned_by`: `vllm` for vLLM and
 * tokentrace serve, `sglang`, `llamacpp` for llama.cpp's server (`owned_by: "llamacpp"`), else
 * `openai`.
 *
 * @example
 * ```ts
 * import { kindFromOwner } from "./endpoint_kinds.ts";
 * console.log(kindFromOwner("llamacpp"), kindFromOwner("tokentrace"), kindFromOwner(undefined)); // llamacpp vllm openai
 * ```
 */
export function kindFromOwner(owner: string | undefined): EndpointKind {
  const o = owner?.toLowerCase();
  if (o === "vllm" || o === "tokentrace") return "vllm";
  if (o === "sglang") return "sglang";
  if (o === "llamacpp" || o === "llama.cpp") return "llamacpp";
  return "openai";
}
