/**
 * Text to token ids and back for the engine's text prompts, and the simple chat template.
 *
 * The engine serves checkpoints and synthetic presets without their tokenizer, so text is
 * byte-level: a prompt's UTF-8 bytes are its ids (0-255, which every supported vocabulary
 * holds), and an output id below 256 is one byte of text; an id of 256 or more (a real model's
 * own token) renders as `<id>`. Token-id prompts bypass all of this.
 *
 * @module
 */
import type { ChatMessage } from "../../../workloads/base/request.ts";

const encoder = new TextEncoder();

/**
 * Byte-level encoding of text.
 *
 * @example
 * ```ts
 * import { encodeText } from "./tokenizer.ts";
 * console.log(encodeText("hé")); // [ 104, 195, 169 ]
 * ```
 */
export function encodeText(text: string): number[] {
  return Array.from(encoder.encode(text));
}

/**
 * The chat template: each message as `<|role|>\n` + content + `\n`, then `<|assistant|>\n`.
 *
 * @example
 * ```ts
 * import { chatPrompt } from "./tokenizer.ts";
 * console.log(JSON.stringify(chatPrompt([{ role: "user", content: "hi" }]))); // "<|user|>\nhi\n<|assistant|>\n"
 * ```
 */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `<|${m.role}|>\n${m.content}\n`).join("") +
    "<|assistant|>\n";
}

/**
 * Incremental decoding of output ids to text (a multi-byte character split across tokens is
 * held back until complete).
 *
 * @example
 * ```ts
 * import { ByteTextDecoder } from "./tokenizer.ts";
 * const d = new ByteTextDecoder();
 * console.log(d.push(195) + d.push(169) + d.push(300)); // é<300>
 * ```
 */
export class ByteTextDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  /** Text produced by one more id. */
  push(id: number): string {
    if (id < 256) {
      return this.decoder.decode(new Uint8Array([id]), { stream: true });
    }
    return this.decoder.decode() + `<${id}>`;
  }

  /** Whatever is held back at the end. */
  flush(): string {
    return this.decoder.decode();
  }
}
