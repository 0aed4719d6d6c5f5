/**
 * Text in and out of the engine: a checkpoint's own tokenizer (`tokenizer.json`) and chat
 * template (`tokenizer_config.json`) when it has them, byte-level text otherwise.
 *
 * - `tokenizer`: prompts are encoded by the checkpoint's tokenizer (completions add its special
 *   tokens, as vLLM does by default; a chat prompt is the rendered template, whose own special
 *   tokens are parsed from the text), outputs are decoded incrementally with special tokens
 *   skipped.
 * - `bytes`: a prompt's UTF-8 bytes are its ids (0-255, which every supported vocabulary holds),
 *   an output id below 256 is one byte of text and any other id renders as `<id>`; chat
 *   messages are joined by the simple template of `chatPrompt` (adapters/webgpu/model/tokenizer.ts).
 *
 * @module
 */
import {
  ChatTemplate,
  type TemplateMessage,
} from "../../../workloads/chat_template.ts";
import {
  loadTokenizer,
  type TextTokenizer,
} from "../../../workloads/tokenizer.ts";
import { chatPrompt, encodeText } from "../model/tokenizer.ts";
import { type Detokenizer, WindowDetokenizer } from "./detokenizer.ts";

/** How the engine's server turns text into ids and back. */
export interface TextCodec {
  /** `tokenizer` (the checkpoint's own) or `bytes` (the fallback). */
  readonly kind: "tokenizer" | "bytes";
  /** Where the tokenizer came from, or `byte-level`. */
  readonly source: string;
  /** Ids of a completions prompt (`addSpecial`: BOS and the like, where the tokenizer adds them). */
  encode(text: string, addSpecial: boolean): number[];
  /** The prompt text of chat messages (the template, ending with the assistant's header). */
  chatText(messages: readonly TemplateMessage[], tools?: unknown[]): string;
  /** Ids of a chat prompt's text (special tokens in it parsed, none added). */
  encodeChat(text: string): number[];
  /** Text of ids, special tokens skipped or not. */
  decode(ids: readonly number[], skipSpecial: boolean): string;
  /** The token string of an id (`<0xC3>`, `▁the`, ...). */
  tokenString(id: number): string;
  /**
   * An incremental decoder for the output of a request with this prompt; special tokens are
   * skipped unless `skipSpecial` is false (default true).
   */
  detokenizer(promptIds: readonly number[], skipSpecial?: boolean): Detokenizer;
  /** One more than the largest id the codec can produce. */
  readonly vocabSize: number;
}

const bytesDecode = (ids: readonly number[]): string => {
  let out = "";
  let run: number[] = [];
  const end = () => {
    if (run.length > 0) out += new TextDecoder().decode(new Uint8Array(run));
    run = [];
  };
  for (const id of ids) {
    if (id < 256) run.push(id);
    else {
      end();
      out += `<${id}>`;
    }
  }
  end();
  return out;
};

/**
 * The byte-level codec (checkpoints and presets without a tokenizer).
 *
 * @example
 * ```ts
 * import { byteCodec } from "./codec.ts";
 * const c = byteCodec();
 * const d = c.detokenizer([104]);
 * console.log(c.encode("hé", true), JSON.stringify(d.push(195) + "|" + d.push(169))); // [ 104, 195, 169 ] "|é"
 * ```
 */
export function byteCodec(): TextCodec {
  return {
    kind: "bytes",
    source: "byte-level",
    encode: (text) => encodeText(text),
    chatText: (messages) =>
      chatPrompt(
        messages.map((m) => ({
          role: m.role as "user",
          content: m.content ?? "",
        })),
      ),
    encodeChat: (text) => encodeText(text),
    decode: (ids) => bytesDecode(ids),
    tokenString: (id) => bytesDecode([id]),
    detokenizer: (prompt) => new WindowDetokenizer(bytesDecode, prompt),
    vocabSize: 256,
  };
}

/**
 * A codec over a Hugging Face tokenizer; `template` renders chat messages (without one, chat
 * uses the byte-level codec's simple template, encoded by the tokenizer).
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "../../../workloads/tokenizer.ts";
 * import { tokenizerCodec } from "./codec.ts";
 * const c = tokenizerCodec(await loadTokenizer("tests/fixtures/tokenizers/tiny-sp256"));
 * console.log(c.chatText([{ role: "user", content: "hi" }])); // <s><|user|>\nhi</s>\n<|assistant|>\n
 * ```
 */
export function tokenizerCodec(tok: TextTokenizer): TextCodec {
  const template = tok.chatTemplate === undefined
    ? undefined
    : new ChatTemplate(
      tok.chatTemplate,
      { bosToken: tok.bosToken, eosToken: tok.eosToken, source: tok.path },
    );
  const specials = tok.specialIds;
  return {
    kind: "tokenizer",
    source: tok.path,
    encode: (text, addSpecial) => tok.encode(text, addSpecial),
    chatText: (messages, tools) =>
      template ? template.render(messages, { tools }) : chatPrompt(
        messages.map((m) => ({
          role: m.role as "user",
          content: m.content ?? "",
        })),
      ),
    encodeChat: (text) => tok.encode(text, false),
    decode: (ids, skip) => tok.decode(ids, skip),
    tokenString: (id) => tok.idToken(id) ?? `<${id}>`,
    detokenizer: (prompt, skipSpecial = true) =>
      new WindowDetokenizer(
        (ids) => tok.decode(ids, skipSpecial),
        prompt,
        (id) => skipSpecial && specials.has(id),
      ),
    vocabSize: tok.vocabSize,
  };
}

/**
 * The codec of a model: the tokenizer in `dir` (a checkpoint folder or a tokenizer folder) when
 * it holds a `tokenizer.json`, else byte-level.
 *
 * @example
 * ```ts
 * import { openCodec } from "./codec.ts";
 * console.log((await openCodec("tests/fixtures/tokenizers/tiny-sp256")).kind, (await openCodec(undefined)).kind); // tokenizer bytes
 * ```
 */
export async function openCodec(dir: string | undefined): Promise<TextCodec> {
  if (dir === undefined) return byteCodec();
  const file = dir.endsWith(".json")
    ? dir
    : `${dir.replace(/\/+$/, "")}/tokenizer.json`;
  try {
    await Deno.stat(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return byteCodec();
    throw e;
  }
  return tokenizerCodec(await loadTokenizer(file));
}
