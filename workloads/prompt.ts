/**
 * Prompt synthesis for traces that give lengths (and block hashes) but no text.
 *
 * Token-id prompts have exactly the planned length. With Mooncake-style `prefixBlocks`, block
 * `h` always expands to the same `blockSize` token ids, so requests sharing hash ids share a
 * token prefix exactly as in the trace; the first two ids of a block encode `h` (uniquely for
 * the first `(vocabSize - firstId)^2` keys; beyond that the seeded rest of the block still
 * differs), so blocks with different ids do not collide. Requests without blocks get a prompt that starts with their own
 * id, so no two requests share a prefix by accident.
 *
 * @module
 */
import type { PromptSpec, TraceRequest } from "./base/request.ts";

/** Options for {@linkcode synthesizePrompts}. */
export interface PromptSynthesisOptions {
  /** `token_ids` (exact length) or `text` (approximate: one common word per planned token). */
  kind: "token_ids" | "text";
  /** Token ids are drawn from `[firstId, vocabSize)`. Default 32000 (fits Llama-2 and larger vocabularies). */
  vocabSize?: number;
  /**
   * Lowest id used, to stay clear of special tokens. Default {@linkcode defaultFirstId}: 1000
   * for vocabularies of 2,000 ids or more, else an eighth of the vocabulary.
   */
  firstId?: number;
  /** Tokens per prefix block. Default 512 (Mooncake FAST'25). */
  blockSize?: number;
  /** Seed of the token generator. Default 0. */
  seed?: number;
}

/** Token-id prompts need at least this many ids to draw from. */
export const MIN_FREE_IDS = 16;

/**
 * The lowest prompt id for a vocabulary of `vocab` ids: 1000 (clear of the special tokens of
 * every common tokenizer) when the vocabulary has 2,000 ids or more, else `floor(vocab / 8)`
 * (tiny test models: a 256-id vocabulary draws from [32, 256)).
 *
 * @example
 * ```ts
 * import { defaultFirstId } from "./prompt.ts";
 * console.log(defaultFirstId(128256), defaultFirstId(256)); // 1000 32
 * ```
 */
export function defaultFirstId(vocab: number): number {
  return vocab >= 2000 ? 1000 : Math.floor(vocab / 8);
}

/**
 * Returns the requests with a `prompt` synthesized for each one that has none.
 *
 * @example
 * ```ts
 * import { synthesizePrompts } from "./prompt.ts";
 * const [r] = synthesizePrompts([{ id: "7", arrivalMs: 0, inputTokens: 5, outputTokens: 1 }], { kind: "token_ids" });
 * console.log(r.prompt?.kind === "token_ids" && r.prompt.ids.length); // 5
 * ```
 */
export function synthesizePrompts(
  requests: readonly TraceRequest[],
  opts: PromptSynthesisOptions,
): TraceRequest[] {
  const vocab = opts.vocabSize ?? 32000;
  const first = opts.firstId ?? defaultFirstId(vocab);
  const blockSize = opts.blockSize ?? 512;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(vocab) || !(vocab - first >= MIN_FREE_IDS)) {
    throw new RangeError(
      `Vocabulary must leave >= ${MIN_FREE_IDS} ids above firstId, got vocabSize ${vocab}, firstId ${first}`,
    );
  }
  const cache = new Map<number, Uint32Array>();
  const block = (h: number): Uint32Array => {
    let b = cache.get(h);
    if (!b) {
      b = tokenBlock(h, blockSize, seed, first, vocab);
      cache.set(h, b);
    }
    return b;
  };
  return requests.map((r) => {
    if (r.prompt) return r;
    let prompt: PromptSpec;
    if (opts.kind === "text") {
      prompt = { kind: "text", text: textPrompt(r.id, r.inputTokens, seed) };
    } else {
      const ids = new Array<number>(r.inputTokens);
      if (r.prefixBlocks && r.prefixBlocks.length > 0) {
        let k = 0;
        for (const h of r.prefixBlocks) {
          const b = block(h);
          for (let j = 0; j < b.length && k < ids.length; j++) ids[k++] = b[j];
          if (k === ids.length) break;
        }
        // A trace whose blocks cover fewer tokens than planned: fill the rest uniquely.
        if (k < ids.length) {
          const tail = tokenBlock(
            -1 - hashString(r.id),
            ids.length - k,
            seed,
            first,
            vocab,
          );
          for (let j = 0; k < ids.length; j++) ids[k++] = tail[j];
        }
      } else {
        const b = tokenBlock(
          -1 - hashString(r.id),
          ids.length,
          seed,
          first,
          vocab,
        );
        for (let j = 0; j < ids.length; j++) ids[j] = b[j];
      }
      prompt = { kind: "token_ids", ids };
    }
    return { ...r, prompt };
  });
}

/** `n` token ids for block key `h`: two ids that encode `h`, then seeded random ids. */
function tokenBlock(
  h: number,
  n: number,
  seed: number,
  first: number,
  vocab: number,
): Uint32Array {
  const out = new Uint32Array(n);
  const span = vocab - first;
  const key = h >= 0 ? 2 * h : -2 * h - 1; // non-negative, unique per h
  if (n > 0) out[0] = first + (key % span);
  if (n > 1) out[1] = first + (Math.floor(key / span) % span);
  const rand = mulberry32(
    (seed * 0x9e3779b1) ^ (key * 0x85ebca6b) ^ 0x5bd1e995,
  );
  for (let i = 2; i < n; i++) out[i] = first + Math.floor(rand() * span);
  return out;
}

const WORDS = (
  "the of and to in is was for on that with as by at from his it an were are which this " +
  "be or has had first one their its new after who they have her she two been other when " +
  "there all during into school time may years more most only over city some world would " +
  "where later up such used many can state about national out known university united then"
).split(" ");

/** About `n` tokens of text: a request tag, then common single-token words. */
function textPrompt(id: string, n: number, seed: number): string {
  const rand = mulberry32(hashString(id) ^ seed);
  const words = [`req${id}`];
  for (let i = 1; i < n; i++) {
    words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  }
  return words.join(" ");
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 1;
}

function mulberry32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
