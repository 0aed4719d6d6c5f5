/**
 * Text prompts whose tokenized length is exactly the planned one, verified with the served
 * model's tokenizer.
 *
 * Prompts are built from a pool of words that the tokenizer maps to one token each after a
 * space, in any sequence (checked once per pool). A prompt starts with a space only where that
 * makes its first word one token (byte-level BPE, GPT-2 style); never for SentencePiece-style
 * tokenizers (Llama 2, llama.cpp), which prepend one themselves, so that one more would be a
 * token of its own. For the chat API the length counted is the whole prompt the server will see:
 * the model's chat template applied to one user message, tokenized with the same tokenizer.
 * With block hashes, block `h` is always the same `blockSize` words, so requests that share
 * hash ids share a text (and token) prefix, and the first two words of a block encode its id,
 * so different ids never collide; the rest of a prompt is unique to its request.
 * Every prompt is then encoded and its length compared with the plan; a mismatch is repaired at
 * the tail, and a prompt that cannot be repaired is an error, never a silent drift.
 *
 * @module
 */
import { ChatTemplate } from "./chat_template.ts";
import type { TraceRequest } from "./base/request.ts";
import type { TextTokenizer } from "./tokenizer.ts";
import { hashString, Rng } from "./base/random.ts";

/** Options of {@linkcode synthesizeTextPrompts}. */
export interface TextPromptOptions {
  /** The served model's tokenizer, which verifies every prompt's length. */
  tokenizer: TextTokenizer;
  /** Tokens per hash block. Default 512. */
  blockSize?: number;
  /** Default 0. */
  seed?: number;
  /**
   * Count the special tokens the tokenizer adds (BOS) in the planned length, as a completions
   * server does. Default true. Ignored with `chat` (the template writes its own).
   */
  specialTokens?: boolean;
  /**
   * Count the tokenizer's chat template around the text (one user message, generation prompt
   * added), as a chat server does. Default false. Needs `tokenizer.chatTemplate`.
   */
  chat?: boolean;
}

const POOL_SIZE = 4096;

/**
 * Words that encode to exactly one token each after a space, in any sequence (measured inside
 * text, `w w w` against `w`, so it holds for tokenizers that prepend a space themselves).
 */
export function wordPool(tok: TextTokenizer): string[] {
  const pool: string[] = [];
  const seen = new Set<string>();
  for (const [piece, id] of tok.vocabulary()) {
    if (pool.length >= POOL_SIZE) break;
    const text = tok.decode([id]);
    const word = text.trim();
    if (!/^[a-z]{2,12}$/.test(word) || seen.has(word)) continue;
    const alone = tok.encode(word).length;
    if (tok.encode(`${word} ${word} ${word}`).length !== alone + 2) continue;
    seen.add(word);
    pool.push(word);
    void piece;
  }
  if (pool.length < 16) {
    throw new Error(
      `Tokenizer "${tok.path}": found ${pool.length} single-token words, expected >= 16 to build prompts`,
    );
  }
  // A sample sequence must stay additive; tokenizers that merge across spaces fail here.
  const sample = pool.slice(0, 64);
  const n = tok.encode(sample.join(" ")).length -
    tok.encode(sample[0]).length + 1;
  if (n !== sample.length) {
    throw new Error(
      `Tokenizer "${tok.path}": ${sample.length} single-token words encode to ${n} tokens together, expected ${sample.length}: this tokenizer merges across spaces and cannot make exact-length text prompts`,
    );
  }
  return pool;
}

/**
 * Returns the requests with a verified text prompt for each one that has none.
 *
 * @example
 * ```ts ignore
 * import { loadTokenizer } from "./tokenizer.ts";
 * import { synthesizeTextPrompts } from "./text_prompt.ts";
 * const tokenizer = await loadTokenizer("tokenizer.json");
 * const [r] = synthesizeTextPrompts([{ id: "0", arrivalMs: 0, inputTokens: 100, outputTokens: 8 }], { tokenizer });
 * console.log(tokenizer.encode(r.prompt.kind === "text" ? r.prompt.text : "", true).length); // 100
 * ```
 */
export function synthesizeTextPrompts(
  requests: readonly TraceRequest[],
  opts: TextPromptOptions,
): TraceRequest[] {
  const tok = opts.tokenizer;
  const pool = wordPool(tok);
  const bs = opts.blockSize ?? 512;
  const seed = opts.seed ?? 0;
  const count = tokenCounter(tok, opts);
  const overhead = count("");
  // A leading space only where it makes the first word one token where it stands (byte-level
  // BPE: " the" is one token, "the" three; inside a chat template after a newline, likewise);
  // SentencePiece-style tokenizers add their own at the start of a text, and one more space
  // would be a token of its own.
  const lead = count(` ${pool[0]}`) < count(pool[0]) ? " " : "";
  const blocks = new Map<number, string[]>();
  const block = (h: number) => {
    let b = blocks.get(h);
    if (!b) {
      // The first two words encode h, so blocks with different ids never share a start.
      const key = h >= 0 ? 2 * h : -2 * h - 1;
      const rng = new Rng(
        (Math.imul(seed, 31) ^ Math.imul(key, 0x9e3779b1)) >>> 0,
      );
      b = Array.from(
        { length: bs },
        (_, i) =>
          i === 0
            ? pool[key % pool.length]
            : i === 1
            ? pool[Math.floor(key / pool.length) % pool.length]
            : pool[Math.floor(rng.next() * pool.length)],
      );
      blocks.set(h, b);
    }
    return b;
  };
  return requests.map((r) => {
    if (r.prompt) return r;
    const want = r.inputTokens - overhead;
    if (want < 0) {
      throw new Error(
        `Request ${r.id}: planned ${r.inputTokens} input tokens, but ${
          opts.chat ? "the chat template takes" : "the tokenizer adds"
        } ${overhead} special token(s): expected inputTokens >= ${overhead}`,
      );
    }
    const words: string[] = [];
    for (const h of r.prefixBlocks ?? []) {
      if (words.length >= want) break;
      words.push(...block(h).slice(0, want - words.length));
    }
    const rng = new Rng(hashString(`${seed}:${r.id}`));
    while (words.length < want) {
      words.push(pool[Math.floor(rng.next() * pool.length)]);
    }
    const text = fitText(count, lead, words, want + overhead, rng, pool);
    if (text === null) {
      throw new Error(
        `Request ${r.id}: could not build a text of exactly ${r.inputTokens} tokens with tokenizer "${tok.path}"`,
      );
    }
    return { ...r, prompt: { kind: "text", text } };
  });
}

/**
 * How many tokens the server counts for a text: the text with the tokenizer's special tokens
 * (completions), or the chat template around it as one user message (chat).
 */
export function tokenCounter(
  tok: TextTokenizer,
  opts: Pick<TextPromptOptions, "chat" | "specialTokens">,
): (text: string) => number {
  if (!opts.chat) {
    const special = opts.specialTokens ?? true;
    return (text) => tok.encode(text, special).length;
  }
  if (tok.chatTemplate === undefined) {
    throw new Error(
      `Tokenizer "${tok.path}": no chat template (tokenizer_config.json "chat_template"), so chat prompt lengths cannot be counted as the server counts them: put the served model's tokenizer_config.json beside its tokenizer.json`,
    );
  }
  const template = new ChatTemplate(tok.chatTemplate, {
    bosToken: tok.bosToken,
    eosToken: tok.eosToken,
    source: tok.path,
  });
  return (text) =>
    tok.encode(template.render([{ role: "user", content: text }]), false)
      .length;
}

/** Joins words and repairs the tail until the text counts `target` tokens, or null. */
function fitText(
  count: (text: string) => number,
  lead: string,
  words: string[],
  target: number,
  rng: Rng,
  pool: string[],
): string | null {
  for (let attempt = 0; attempt < 8; attempt++) {
    const text = words.length ? lead + words.join(" ") : "";
    const n = count(text);
    if (n === target) return text;
    if (n > target) words.splice(Math.max(0, words.length - (n - target)));
    else {
      for (let k = 0; k < target - n; k++) {
        words.push(pool[Math.floor(rng.next() * pool.length)]);
      }
    }
  }
  return null;
}
