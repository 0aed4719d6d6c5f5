/**
 * The prompts of a request body as token ids: one text or id prompt, a batch of either
 * (completions), or the chat messages rendered by the codec's template.
 *
 * @module
 */
import { ChatTemplateError } from "../../../workloads/chat_template.ts";
import type { TextCodec } from "../text/codec.ts";
import { templateMessages } from "./chat.ts";
import type { ChatRequest, CompletionRequest } from "./schemas.ts";

/** The outcome of {@linkcode bodyPrompts}. */
export type Prompts =
  | { ok: true; prompts: number[][] }
  | { ok: false; param: string; message: string };

/**
 * Token ids of every prompt of `b`: completions text is encoded with the tokenizer's special
 * tokens unless `add_special_tokens` is false; a chat prompt is the rendered template, whose
 * special tokens are parsed from the text (`add_special_tokens: true` adds the tokenizer's too).
 *
 * @example
 * ```ts
 * import { byteCodec } from "../text/codec.ts";
 * import { bodyPrompts } from "./prompts.ts";
 * const r = bodyPrompts({ prompt: ["hi", "yo"] }, byteCodec());
 * console.log(r.ok && r.prompts); // [ [ 104, 105 ], [ 121, 111 ] ]
 * ```
 */
export function bodyPrompts(
  b: CompletionRequest | ChatRequest,
  codec: TextCodec,
): Prompts {
  if ("prompt" in b) {
    const p = b.prompt as string | number[] | string[] | number[][];
    const one = (x: string | number[]) =>
      typeof x === "string" ? codec.encode(x, b.add_special_tokens ?? true) : x;
    if (typeof p === "string" || typeof p[0] === "number") {
      return { ok: true, prompts: [one(p as string | number[])] };
    }
    return { ok: true, prompts: (p as (string | number[])[]).map(one) };
  }
  const m = templateMessages((b as ChatRequest).messages);
  if (!m.ok) return m;
  try {
    const text = codec.chatText(m.messages);
    return {
      ok: true,
      prompts: [
        b.add_special_tokens
          ? codec.encode(text, true)
          : codec.encodeChat(text),
      ],
    };
  } catch (e) {
    if (!(e instanceof ChatTemplateError)) throw e;
    return {
      ok: false,
      param: "messages",
      message: `Field "messages": ${e.message}`,
    };
  }
}
