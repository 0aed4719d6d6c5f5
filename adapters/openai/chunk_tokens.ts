/**
 * Tokens in a chunk's text, counted with the served model's tokenizer, for servers that put
 * several tokens in one chunk without saying how many (transformers serve: 170 chunks for 313
 * tokens).
 *
 * The text is encoded after the end of the text before it (from the last space, at most 64
 * characters), and the count is what the chunk adds: tokens rarely span a space, so the count
 * matches encoding the whole output up to that chunk without its quadratic cost. At least 1: a
 * token-bearing chunk stands for a token even when its text merges into the previous one.
 *
 * @module
 */
import type { TextTokenizer } from "../../workloads/tokenizer.ts";

/** Counts the tokens of successive chunk texts of one stream. */
export type ChunkTokenCounter = (text: string) => number;

const TAIL_CHARS = 64;

/**
 * A counter for one stream.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "../../workloads/tokenizer.ts";
 * import { chunkTokenCounter } from "./chunk_tokens.ts";
 * const tok = await loadTokenizer("tests/fixtures/tokenizers/tiny-sp256");
 * const count = chunkTokenCounter(tok);
 * console.log(count("an to"), count(" the"), count("é")); // 2 1 2
 * ```
 */
export function chunkTokenCounter(tok: TextTokenizer): ChunkTokenCounter {
  let tail = "";
  return (text) => {
    const before = tail === "" ? 0 : tok.encode(tail).length;
    const n = tok.encode(tail + text).length - before;
    const all = tail + text;
    const cut = all.lastIndexOf(" ", all.length - 1);
    tail = cut >= 0 && all.length - cut <= TAIL_CHARS
      ? all.slice(cut)
      : all.slice(-TAIL_CHARS);
    return Math.max(1, n);
  };
}
