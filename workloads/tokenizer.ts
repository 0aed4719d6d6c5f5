/**
 * A local Hugging Face tokenizer (`tokenizer.json`, optionally with `tokenizer_config.json`
 * beside it: special tokens and the chat template), loaded with `@huggingface/tokenizers` (pure
 * JavaScript, no network).
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";

/** The tokenizer operations prompt synthesis and serving need. */
export interface TextTokenizer {
  /** Where it was loaded from. */
  readonly path: string;
  /** Token ids of `text`; `specialTokens` adds what the post-processor adds (BOS, ...). */
  encode(text: string, specialTokens?: boolean): number[];
  /** Text of `ids`; `skipSpecial` leaves special tokens (BOS, EOS, ...) out (default false). */
  decode(ids: readonly number[], skipSpecial?: boolean): string;
  /** Every (token string, id) of the vocabulary, added tokens excluded. */
  vocabulary(): Map<string, number>;
  /** The token string of an id (added tokens included), or undefined. */
  idToken(id: number): string | undefined;
  /** Ids of the special added tokens (BOS, EOS, ...), which `decode(ids, true)` leaves out. */
  readonly specialIds: ReadonlySet<number>;
  /** One more than the largest id the tokenizer can produce (added tokens included). */
  readonly vocabSize: number;
  /** `tokenizer_config.json`'s `bos_token` / `eos_token` strings, where it names them. */
  readonly bosToken?: string;
  /** The end-of-sequence token string, where the config names it. */
  readonly eosToken?: string;
  /** `tokenizer_config.json`'s chat template (the `default` one of a named set). */
  readonly chatTemplate?: string;
}

/**
 * Loads `tokenizer.json` from a file or from a folder that holds one; `tokenizer_config.json`
 * beside it is read when present.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "./tokenizer.ts";
 * const tok = await loadTokenizer("tests/fixtures/tokenizers/tiny-sp256");
 * console.log(tok.encode("an to the"), tok.vocabSize, tok.eosToken); // [ 235, 238, 254 ] 256 </s>
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
    let cfgText: string | undefined;
    try {
      cfgText = await Deno.readTextFile(cfgPath);
    } catch {
      // The config is optional.
    }
    if (cfgText !== undefined) {
      try {
        config = JSON.parse(cfgText);
      } catch (e) {
        throw new Error(
          `Tokenizer config "${cfgPath}": expected JSON, got invalid JSON (${
            (e as Error).message
          })`,
        );
      }
    }
  }
  return parseTokenizer(json, config, file);
}

/** A `tokenizer_config.json` token entry: a string or `{"content": "..."}` (older files). */
function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null) {
    const c = (v as Record<string, unknown>).content;
    if (typeof c === "string") return c;
  }
  return undefined;
}

/** `chat_template` as a string, a named list (`[{name, template}]`) or a map: the default one. */
function templateText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => t?.name === "default") ?? v[0];
    return typeof named?.template === "string" ? named.template : undefined;
  }
  if (typeof v === "object" && v !== null) {
    const d = (v as Record<string, unknown>).default;
    return typeof d === "string" ? d : undefined;
  }
  return undefined;
}

/**
 * Builds a {@linkcode TextTokenizer} from the parsed `tokenizer.json` and
 * `tokenizer_config.json`; `path` names it in messages.
 *
 * @example
 * ```ts
 * import { parseTokenizer } from "./tokenizer.ts";
 * const dir = "tests/fixtures/tokenizers/tiny-sp256";
 * const tok = parseTokenizer(
 *   JSON.parse(Deno.readTextFileSync(`${dir}/tokenizer.json`)),
 *   {},
 *   "inline",
 * );
 * console.log(tok.decode(tok.encode("an é"))); // an é
 * ```
 */
export function parseTokenizer(
  json: unknown,
  config: Record<string, unknown>,
  path: string,
): TextTokenizer {
  // The config's chat template can be large; the tokenizer itself does not need it.
  const { chat_template: template, ...rest } = config;
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, rest);
  } catch (e) {
    throw new Error(
      `Tokenizer "${path}": cannot load (${
        (e as Error).message
      }): expected a Hugging Face tokenizers file`,
    );
  }
  const vocab = tok.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const specialIds = new Set<number>();
  for (const [id, t] of tok.get_added_tokens_decoder()) {
    if (t.special) specialIds.add(id);
  }
  return {
    path,
    encode: (t, special = false) =>
      tok.encode(t, { add_special_tokens: special }).ids,
    // The library refuses an empty list; its text is "".
    decode: (ids, skipSpecial = false) =>
      ids.length === 0
        ? ""
        : tok.decode([...ids], { skip_special_tokens: skipSpecial }),
    vocabulary: () => tok.get_vocab(false),
    idToken: (id) => tok.id_to_token(id),
    specialIds,
    vocabSize,
    bosToken: tokenText(config.bos_token),
    eosToken: tokenText(config.eos_token),
    chatTemplate: templateText(template),
  };
}
