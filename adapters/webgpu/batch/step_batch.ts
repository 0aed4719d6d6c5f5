/**
 * The hybrid batch of one forward step and its packed per-step metadata.
 *
 * A step runs T query tokens of S sequences: each sequence contributes a contiguous query range
 * (a prefill chunk, or one decode token) and owns KV pages listed in a CSR page table. R of the
 * sequences sample a next token from their last query row. Everything the kernels need about the
 * step lives in ONE u32 buffer, laid out by {@link packStep}:
 *
 * ```
 * header  [16]    T, S, R, NWP, offsets (in u32) of the arrays below, then WORK, NW, MERGE
 *                 (the attention work list, attention_plan.ts, written after `metaWords`)
 * tok     [T]     token id, or TOK_FROM_SLOT | slot: the slot's last sampled id (decode on GPU)
 * pos     [T]     position of the token in its sequence
 * seq     [T]     index of the token's sequence in this step (0..S)
 * kvslot  [T]     page * PAGE_SIZE + offset where the token's K and V are written
 * qstart  [S]     first token row of each sequence
 * qlen    [S]     query tokens of each sequence
 * indptr  [S + 1] CSR row pointers into `pages`
 * pages   [nnz]   KV page ids, sequence by sequence, in position order
 * rows    [R, 8]  token row, state slot, temperature (f32 bits), top_p (f32 bits), seed,
 *                 counter (position of the sampled token), token log index, 0
 * ```
 *
 * @module
 */
import { PAGE_SIZE } from "./kv_blocks.ts";

/** Marks a `tok` entry that reads the slot's last sampled token instead of a literal id. */
export const TOK_FROM_SLOT = 0x80000000;
/** u32 words per sample row in the `rows` array. */
export const ROW_WORDS = 8;
/** u32 words of the header. */
export const HEADER_WORDS = 16;

/** Header word indices (shared with the WGSL kernels through their prelude). */
export const HDR = {
  T: 0,
  S: 1,
  R: 2,
  TOK: 4,
  POS: 5,
  SEQ: 6,
  KVSLOT: 7,
  QSTART: 8,
  QLEN: 9,
  INDPTR: 10,
  PAGES: 11,
  ROWS: 12,
  /** Attention work items of prefill tiles (they come first in the list). */
  NWP: 3,
  /** Offset of the attention work list. */
  WORK: 13,
  /** Attention work items in all. */
  NW: 14,
  /** Offset of the attention merge list. */
  MERGE: 15,
} as const;

/** How a sequence samples its next token. Temperature 0 is greedy (argmax, lowest id on ties). */
export interface SamplingParams {
  /** Softmax temperature; 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables top-p. */
  topP: number;
  /** RNG seed; the draw for position p depends only on (seed, p). */
  seed: number;
}

/** Greedy decoding: argmax, lowest id on ties. */
export const GREEDY: SamplingParams = { temperature: 0, topP: 1, seed: 0 };

/** One sequence's part in a step. */
export interface StepSequence {
  /** Persistent slot (0 <= slot < maxSeqs): the last token sampled for it lives there on the GPU. */
  slot: number;
  /** Position of the first query token (tokens already in the KV cache). */
  start: number;
  /** Prompt ids of a prefill chunk, or `null` for one decode token fed from the slot on the GPU. */
  tokens: readonly number[] | null;
  /** KV page ids covering positions [0, start + query tokens), in position order. */
  pages: readonly number[];
  /** Sample from the last query row, or `null` (a prefill chunk that is not the last). */
  sample: SamplingParams | null;
}

/** A hybrid batch: prefill chunks and decode tokens of different sequences together. */
export interface StepBatch {
  /** The sequences of the step; row order is the sequences' order. */
  seqs: readonly StepSequence[];
  /** Token log index of the first sample row; row r writes at `logBase + r`. */
  logBase: number;
}

/** Capacities a packed step must fit (the engine's buffers are sized by them). */
export interface StepLimits {
  /** Query tokens per step (the token budget). */
  maxTokens: number;
  /** Sequences per step, and persistent slots. */
  maxSeqs: number;
  /** KV pages in the cache. */
  numPages: number;
  /** Vocabulary size (token ids must be below it). */
  vocab: number;
  /** Longest sequence (positions must be below it). */
  maxContext: number;
  /** Token log entries. */
  logSize: number;
}

/** Words of the meta buffer for the given limits (pages per step at most numPages). */
export function metaWords(l: StepLimits): number {
  const pagesPerStep = Math.min(
    l.numPages,
    l.maxSeqs * Math.ceil(l.maxContext / PAGE_SIZE),
  );
  return HEADER_WORDS + 4 * l.maxTokens + 3 * l.maxSeqs + 1 + pagesPerStep +
    ROW_WORDS * l.maxSeqs;
}

/** The packed metadata of a step plus the counts the host needs to size the dispatches. */
export interface PackedStep {
  /** [metaWords] u32 */
  meta: Uint32Array<ArrayBuffer>;
  /** T: query tokens. */
  numTokens: number;
  /** S: sequences. */
  numSeqs: number;
  /** R: sample rows. */
  numRows: number;
  /** The attention work list written into `meta` (attention_plan.ts), once planned. */
  attention?: {
    items: number;
    prefillItems: number;
    merges: number;
  };
}

/**
 * Validates a hybrid batch against the limits and packs its metadata.
 *
 * @example
 * ```ts
 * import { packStep } from "./step_batch.ts";
 * const p = packStep({
 *   seqs: [{ slot: 0, start: 0, tokens: [5, 6, 7], pages: [3], sample: { temperature: 0, topP: 1, seed: 0 } }],
 *   logBase: 0,
 * }, { maxTokens: 8, maxSeqs: 2, numPages: 4, vocab: 16, maxContext: 64, logSize: 8 });
 * console.log(p.numTokens, p.numRows); // 3 1
 * ```
 */
export function packStep(batch: StepBatch, lim: StepLimits): PackedStep {
  const seqs = batch.seqs;
  const S = seqs.length;
  if (S === 0) {
    throw new Error("Step batch: expected at least 1 sequence, got 0");
  }
  if (S > lim.maxSeqs) {
    throw new Error(
      `Step batch: expected at most ${lim.maxSeqs} sequences, got ${S}`,
    );
  }
  const qlen = seqs.map((s) => (s.tokens === null ? 1 : s.tokens.length));
  const T = qlen.reduce((a, b) => a + b, 0);
  if (T > lim.maxTokens) {
    throw new Error(
      `Step batch: expected at most ${lim.maxTokens} tokens, got ${T}`,
    );
  }
  const nnz = seqs.reduce((a, s) => a + s.pages.length, 0);
  const R = seqs.filter((s) => s.sample !== null).length;
  const meta = new Uint32Array(metaWords(lim));
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const off = {
    tok: HEADER_WORDS,
    pos: HEADER_WORDS + T,
    seq: HEADER_WORDS + 2 * T,
    kvslot: HEADER_WORDS + 3 * T,
    qstart: HEADER_WORDS + 4 * T,
    qlen: HEADER_WORDS + 4 * T + S,
    indptr: HEADER_WORDS + 4 * T + 2 * S,
    pages: HEADER_WORDS + 4 * T + 3 * S + 1,
    rows: HEADER_WORDS + 4 * T + 3 * S + 1 + nnz,
  };
  if (off.rows + ROW_WORDS * R > meta.length) {
    throw new Error(
      `Step batch: expected at most ${meta.length} metadata words, got ${
        off.rows + ROW_WORDS * R
      }`,
    );
  }
  meta.set([
    T,
    S,
    R,
    0,
    off.tok,
    off.pos,
    off.seq,
    off.kvslot,
    off.qstart,
    off.qlen,
    off.indptr,
    off.pages,
    off.rows,
  ]);
  const slots = new Set<number>();
  let t = 0;
  let p = 0;
  let r = 0;
  for (let i = 0; i < S; i++) {
    const s = seqs[i];
    const where = `Step batch, sequence ${i} (slot ${s.slot})`;
    if (!Number.isInteger(s.slot) || s.slot < 0 || s.slot >= lim.maxSeqs) {
      throw new Error(
        `${where}: expected a slot in [0, ${lim.maxSeqs}), got ${s.slot}`,
      );
    }
    if (slots.has(s.slot)) {
      throw new Error(`${where}: slot ${s.slot} appears twice`);
    }
    slots.add(s.slot);
    const end = s.start + qlen[i];
    if (qlen[i] === 0) {
      throw new Error(`${where}: expected at least 1 token, got 0`);
    }
    if (s.tokens === null && s.start === 0) {
      throw new Error(
        `${where}: a decode token needs a sampled token, but start is 0`,
      );
    }
    if (end > lim.maxContext) {
      throw new Error(
        `${where}: expected at most ${lim.maxContext} positions, got ${end}`,
      );
    }
    const needPages = Math.ceil(end / PAGE_SIZE);
    if (s.pages.length < needPages) {
      throw new Error(
        `${where}: expected at least ${needPages} pages for ${end} positions, got ${s.pages.length}`,
      );
    }
    for (const pg of s.pages) {
      if (!Number.isInteger(pg) || pg < 0 || pg >= lim.numPages) {
        throw new Error(
          `${where}: expected page ids in [0, ${lim.numPages}), got ${pg}`,
        );
      }
    }
    meta[off.qstart + i] = t;
    meta[off.qlen + i] = qlen[i];
    meta[off.indptr + i] = p;
    for (const pg of s.pages) meta[off.pages + p++] = pg;
    for (let j = 0; j < qlen[i]; j++, t++) {
      const pos = s.start + j;
      let tok: number;
      if (s.tokens === null) tok = (TOK_FROM_SLOT | s.slot) >>> 0;
      else {
        tok = s.tokens[j];
        if (!Number.isInteger(tok) || tok < 0 || tok >= lim.vocab) {
          throw new Error(
            `${where}: expected token ids in [0, ${lim.vocab}), got ${tok} at ${j}`,
          );
        }
      }
      meta[off.tok + t] = tok;
      meta[off.pos + t] = pos;
      meta[off.seq + t] = i;
      meta[off.kvslot + t] = s.pages[Math.floor(pos / PAGE_SIZE)] * PAGE_SIZE +
        (pos % PAGE_SIZE);
    }
    if (s.sample) {
      const { temperature, topP, seed } = s.sample;
      if (!(temperature >= 0) || !(topP > 0 && topP <= 1)) {
        throw new Error(
          `${where}: expected temperature >= 0 and top_p in (0, 1], got ${temperature} and ${topP}`,
        );
      }
      const logIndex = batch.logBase + r;
      if (logIndex >= lim.logSize) {
        throw new Error(
          `${where}: token log index ${logIndex} exceeds the log size ${lim.logSize}`,
        );
      }
      const base = off.rows + ROW_WORDS * r;
      meta[base] = t - 1;
      meta[base + 1] = s.slot;
      f32[0] = temperature;
      meta[base + 2] = bits[0];
      f32[0] = topP;
      meta[base + 3] = bits[0];
      meta[base + 4] = seed >>> 0;
      meta[base + 5] = end;
      meta[base + 6] = logIndex;
      r++;
    }
  }
  meta[off.indptr + S] = p;
  return { meta, numTokens: T, numSeqs: S, numRows: R };
}
