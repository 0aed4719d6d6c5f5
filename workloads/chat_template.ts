/**
 * A checkpoint's chat template (`tokenizer_config.json`'s `chat_template`, Jinja), rendered with
 * `@huggingface/jinja` the way Hugging Face transformers' `apply_chat_template` renders it:
 * `messages`, `bos_token`, `eos_token`, `add_generation_prompt` and `tools` (when given); the
 * helpers templates call (`raise_exception`, `strftime_now`) are the library's own.
 *
 * Both sides use it: `tokentrace serve` to turn chat messages into a prompt, and prompt
 * synthesis to count the template's tokens in a chat request's planned length.
 *
 * @module
 */
import { Template } from "@huggingface/jinja";

/** One message as a template sees it. */
export interface TemplateMessage {
  /** Speaker: `system`, `user`, `assistant`, `tool`, ... */
  role: string;
  /** Message text; `null` for an assistant turn that only calls tools. */
  content: string | null;
  /** Optional name of the speaker (OpenAI's `name`). */
  name?: string;
  /** Id of the tool call a `tool` message answers. */
  tool_call_id?: string;
  /** Tool calls of an assistant message, as the request gave them. */
  tool_calls?: unknown[];
}

/** Options of {@linkcode ChatTemplate.render}. */
export interface RenderOptions {
  /** End with the assistant's turn header (default true: a prompt to complete). */
  addGenerationPrompt?: boolean;
  /** Tool definitions, passed to templates that render them. Default: none. */
  tools?: unknown[];
}

/** The template raised an error (`raise_exception`) or could not be rendered. */
export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChatTemplateError";
  }
}

/**
 * A parsed chat template; parse once, render per request.
 *
 * @example
 * ```ts
 * import { ChatTemplate } from "./chat_template.ts";
 * const t = new ChatTemplate(
 *   "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}" +
 *     "{% if add_generation_prompt %}<|assistant|>{% endif %}",
 *   { bosToken: "<s>", eosToken: "</s>", source: "inline" },
 * );
 * console.log(t.render([{ role: "user", content: "hi" }])); // <s><|user|>hi<|assistant|>
 * ```
 */
export class ChatTemplate {
  readonly #template: Template;
  readonly #bos: string;
  readonly #eos: string;
  /** Where the template came from, for messages. */
  readonly source: string;

  /** @throws {ChatTemplateError} When the template does not parse. */
  constructor(
    text: string,
    opts: { bosToken?: string; eosToken?: string; source: string },
  ) {
    this.source = opts.source;
    this.#bos = opts.bosToken ?? "";
    this.#eos = opts.eosToken ?? "";
    try {
      this.#template = new Template(text);
    } catch (e) {
      throw new ChatTemplateError(
        `Chat template of ${opts.source}: cannot parse (${
          (e as Error).message
        })`,
      );
    }
  }

  /**
   * Renders `messages` to the prompt text.
   *
   * @throws {ChatTemplateError} With the template's own message when it raises (e.g. a role it
   * does not support).
   */
  render(
    messages: readonly TemplateMessage[],
    opts: RenderOptions = {},
  ): string {
    const ctx: Record<string, unknown> = {
      messages: messages.map((m) => ({ ...m })),
      bos_token: this.#bos,
      eos_token: this.#eos,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
    };
    if (opts.tools !== undefined) ctx.tools = opts.tools;
    try {
      return this.#template.render(ctx);
    } catch (e) {
      // raise_exception(msg) throws an Error whose message is the template's own text.
      throw new ChatTemplateError(
        `Chat template of ${this.source}: ${(e as Error).message}`,
      );
    }
  }
}
