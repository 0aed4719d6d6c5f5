/**
 * A local Hugging Face tokenizer (`tokenizer.json`, optionally with `tokenizer_config.json`
 * beside it), loaded with `@huggingface/tokenizers` (pure JavaScript, no network).
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";

/** The tokenizer operations prompt synthesis needs. */
export interface TextTokenizer {
  /** Where it was loaded from. */
  readonly path: string;
  /** Token ids of `text`; `specialTokens` adds what the post-processor adds (BOS, ...). */
  encode(text: string, specialTokens?: boolean): number[];
  decode(ids: readonly number[]): string;
  /** Every (token string, id) of the vocabulary, added tokens excluded. */
  vocabulary(): Map<string, number>;
}

/**
 * Loads `tokenizer.json` from a file or from a folder that holds one.
 *
 * @example
 * ```ts ignore
 * import { loadTokenizer } from "./tokenizer.ts";
 * const tok = await loadTokenizer("models/llama/tokenizer.json");
 * console.log(tok.encode("Hello world").length);
 * ```
 */
export async function loadTokenizer(path: string): Promise<TextTokenizer> {
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) {
      file = `${path.replace(/\/$/, "")}/tokenizer.json`;
    }
  } catch {
    // Reported below as not found.
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(
      `Tokenizer "${file}": ${
        e instanceof Deno.errors.NotFound
          ? "file not found"
          : (e as Error).message
      }: expected the served model's tokenizer.json (from its Hugging Face repository)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Tokenizer "${file}": expected JSON, got invalid JSON (${
        (e as Error).message
      })`,
    );
  }
  let config: Record<string, unknown> = {};
  const cfgPath = file.replace(/tokenizer\.json$/, "tokenizer_config.json");
  if (cfgPath !== file) {
    try {
      config = JSON.parse(await Deno.readTextFile(cfgPath));
    } catch {
      // The config is optional.
    }
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, config);
  } catch (e) {
    throw new Error(
      `Tokenizer "${file}": cannot load (${
        (e as Error).message
      }): expected a Hugging Face tokenizers file`,
    );
  }
  return {
    path: file,
    encode: (t, special = false) =>
      tok.encode(t, { add_special_tokens: special }).ids,
    decode: (ids) => tok.decode([...ids]),
    vocabulary: () => tok.get_vocab(false),
  };
}
