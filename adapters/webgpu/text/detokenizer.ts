/**
 * Incremental detokenization: output ids to text as they arrive, UTF-8-safe.
 *
 * Text is emitted only once it is final: a token whose text is still incomplete (one byte of a
 * multi-byte character, from byte fallback or a byte-level BPE) yields nothing, and the next
 * piece of text carries the text of every token since the last one. Each new token is decoded
 * in a small window of the tokens before it (the last prompt tokens to start with), so
 * decoders that depend on context (SentencePiece's leading space, merged byte pieces) give the
 * same text as decoding the whole output at once.
 *
 * @module
 */

/** Turns output ids into text pieces. */
export interface Detokenizer {
  /** The text that `id` completes: "" while it is held back (incomplete character). */
  push(id: number): string;
  /** Whatever is held back at the end (an incomplete character decodes as U+FFFD). */
  flush(): string;
}

/** What {@linkcode WindowDetokenizer} needs of a tokenizer. */
export interface DecodeFn {
  (ids: readonly number[]): string;
}

/** Prompt tokens kept as the first window (context for the first output token). */
const CONTEXT_TOKENS = 5;

/**
 * A detokenizer over any `decode(ids)`: decodes the window `[prefix, end)` and emits the text
 * past `[prefix, read)` once it does not end in U+FFFD (an incomplete character).
 *
 * @example
 * ```ts
 * import { WindowDetokenizer } from "./detokenizer.ts";
 * const bytes = (ids: readonly number[]) => new TextDecoder().decode(new Uint8Array(ids));
 * const d = new WindowDetokenizer(bytes, [104, 105]);
 * console.log(JSON.stringify([d.push(0xc3), d.push(0xa9), d.push(33)])); // ["","é","!"]
 * ```
 */
export class WindowDetokenizer implements Detokenizer {
  readonly #decode: DecodeFn;
  readonly #skip: (id: number) => boolean;
  #ids: number[];
  #prefix = 0;
  #read: number;

  /**
   * @param decode Decodes ids (special tokens already left out by `skip`).
   * @param promptIds The prompt; its last few ids are the first window.
   * @param skip Ids that produce no text (special tokens when they are skipped). Default none.
   */
  constructor(
    decode: DecodeFn,
    promptIds: readonly number[],
    skip: (id: number) => boolean = () => false,
  ) {
    this.#decode = decode;
    this.#skip = skip;
    this.#ids = promptIds.slice(-CONTEXT_TOKENS).filter((id) => !skip(id));
    this.#read = this.#ids.length;
  }

  push(id: number): string {
    if (this.#skip(id)) return "";
    this.#ids.push(id);
    const before = this.#decode(this.#ids.slice(this.#prefix, this.#read));
    const all = this.#decode(this.#ids.slice(this.#prefix));
    if (all.length <= before.length || all.endsWith("\uFFFD")) return "";
    this.#prefix = this.#read;
    this.#read = this.#ids.length;
    // Keep the arrays short: only the window is ever decoded again.
    if (this.#prefix > 64) {
      this.#ids = this.#ids.slice(this.#prefix);
      this.#read -= this.#prefix;
      this.#prefix = 0;
    }
    return all.slice(before.length);
  }

  flush(): string {
    if (this.#read === this.#ids.length) return "";
    const before = this.#decode(this.#ids.slice(this.#prefix, this.#read));
    const all = this.#decode(this.#ids.slice(this.#prefix));
    this.#prefix = this.#read = this.#ids.length;
    return all.length > before.length ? all.slice(before.length) : "";
  }
}
