/**
 * Log-probabilities in OpenAI's shapes. The engine computes, for every sampled token, its
 * log-probability under the model's raw logits (sample.wgsl: temperature 1, before top-p, as
 * vLLM reports them); it does not rank alternatives, so `top_logprobs` (chat) and `logprobs`
 * above 0 (completions) are refused (unsupported.ts).
 *
 * - chat: `logprobs: {content: [{token, logprob, bytes, top_logprobs: []}]}`;
 * - completions (`logprobs: 0`): `logprobs: {tokens, token_logprobs, top_logprobs, text_offset}`,
 *   where `top_logprobs` holds the sampled token alone (as vLLM does for 0) and `text_offset` is
 *   where the text of the chunk (or response) that carries the token starts.
 *
 * A token's `token` is its own text (`decode([id])`: U+FFFD for one byte of a longer
 * character) and `bytes` its bytes (the byte itself for byte tokens).
 *
 * @module
 */
import type { TextCodec } from "../text/codec.ts";

/** One sampled token and its log-probability. */
export interface TokenLogprob {
  id: number;
  logprob: number;
}

const enc = new TextEncoder();

/** The bytes a token stands for: a byte token's byte, else the UTF-8 of its text. */
export function tokenBytes(codec: TextCodec, id: number): number[] {
  if (codec.kind === "bytes") {
    return id < 256 ? [id] : [...enc.encode(`<${id}>`)];
  }
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(codec.tokenString(id));
  if (m) return [parseInt(m[1], 16)];
  return [...enc.encode(codec.decode([id], false))];
}

/**
 * The `logprobs` object of a choice for `entries`.
 *
 * @example
 * ```ts
 * import { byteCodec } from "../text/codec.ts";
 * import { logprobsObject } from "./logprobs.ts";
 * const l = logprobsObject("chat", byteCodec(), [{ id: 104, logprob: -0.5 }], 0);
 * console.log(JSON.stringify(l)); // {"content":[{"token":"h","logprob":-0.5,"bytes":[104],"top_logprobs":[]}]}
 * ```
 */
export function logprobsObject(
  api: "completions" | "chat",
  codec: TextCodec,
  entries: readonly TokenLogprob[],
  textOffset: number,
): Record<string, unknown> {
  const text = (id: number) => codec.decode([id], false);
  if (api === "chat") {
    return {
      content: entries.map((e) => ({
        token: text(e.id),
        logprob: e.logprob,
        bytes: tokenBytes(codec, e.id),
        top_logprobs: [],
      })),
    };
  }
  return {
    tokens: entries.map((e) => text(e.id)),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => ({ [text(e.id)]: e.logprob })),
    text_offset: entries.map(() => textOffset),
  };
}
