/**
 * The per-step work list of hybrid attention (attention_hybrid.wgsl) and its merge list
 * (attention_merge.wgsl), written into the step's metadata buffer after {@link metaWords}.
 *
 * Every sequence of the step is cut into query tiles of at most `qt` tokens (a decode is one
 * tile of one token); a tile becomes one item per kv head (its hg GQA query heads together).
 * When the step has fewer items than `targetItems` (a small decode batch, a short chunk over a
 * long context), tiles are split along the keys into ranges of `splitKeys` (a multiple of the key
 * block), whose partials the merge pass combines. Independently of the target, no item covers
 * more than `maxItemKeys` keys: on an adapter with a loop budget (llvmpipe) a longer item would
 * spend its invocations' budget and leave outputs unwritten (kernels/loop_passes.ts). Items of
 * prefill tiles (sequences with more than one query token) come first: the serial baseline
 * dispatches them, then the rest. In a step that has prefill tiles, decode tiles are split into
 * ranges `mixedDecodeScale` times as long (default {@link MIXED_DECODE_SCALE}): a decode item of
 * one token is far lighter than a prefill item over the same keys, so equal ranges gave the
 * fused dispatch more items than the GPU holds at once, and their second wave outlasted the
 * prefill items (docs/perf.md, engine14q).
 *
 * @module
 */
import { GEOMETRY, type HybridShape } from "../kernels/geometry.ts";
import { HDR, metaWords, type StepLimits } from "../batch/step_batch.ts";

/** Output of a work item written straight to the attention output (no split). */
export const DIRECT = 0xffffffff;

/**
 * How many times longer the key ranges of decode tiles are than those of prefill tiles in a
 * step that has both (AttentionSplit.mixedDecodeScale's default). Measured on the H200
 * (docs/perf.md, engine14q): fused/serial over the 27 grid points went from median 0.922 at 1
 * to 0.882 at 2 (the max, 1.471, unchanged); decode-only steps are not affected.
 */
export const MIXED_DECODE_SCALE = 2;

/** How a step's tiles are split along the keys. */
export interface AttentionSplit {
  /** Work items splitting aims at per step (splits only when the tiles give fewer). */
  targetItems: number;
  /**
   * Most keys one item may cover, a multiple of the key block, or Infinity (no bound):
   * `maxHybridKeys(shape, D, gpu.loopBudget)`.
   */
  maxItemKeys: number;
  /**
   * Fewest keys of a range when splitting, a multiple of the key block (default the key block):
   * a decode over fewer keys is not split (no merge pass).
   */
  minSplitKeys?: number;
  /**
   * In a step with prefill tiles, decode tiles' ranges are this many times the prefill tiles'
   * (a positive integer; default {@link MIXED_DECODE_SCALE}; 1: equal ranges). Steps of decodes
   * alone split as before.
   */
  mixedDecodeScale?: number;
}

/** Capacities of the work list, merge list and partial rows (buffers are sized by them). */
export interface AttentionCaps {
  items: number;
  merges: number;
  partialRows: number;
}

/** What {@link planAttention} wrote. */
export interface AttentionPlan {
  /** Work items in all. */
  items: number;
  /** Of which prefill tiles (first in the list). */
  prefillItems: number;
  /** Merge entries. */
  merges: number;
  /** Partial rows used. */
  partialRows: number;
  /** Keys per split of prefill tiles, and of decode tiles in a step without prefill (0 when
   * nothing was split). */
  splitKeys: number;
  /** Keys per split of decode tiles (splitKeys, or mixedDecodeScale times it in a step with
   * prefill tiles, at most maxItemKeys; 0 when nothing was split). */
  decodeSplitKeys: number;
}

/**
 * Capacities for a model shape and step limits under `split`: room for splitting towards the
 * target, and for every tile cut into ranges of `maxItemKeys` keys up to `maxContext`.
 *
 * @example
 * ```ts
 * import { attentionCaps } from "./attention_plan.ts";
 * import { hybridShape } from "../kernels/geometry.ts";
 * const lim = { maxTokens: 512, maxSeqs: 64, maxContext: 2048 };
 * const caps = attentionCaps(32, 8, hybridShape(32, 8, 64), lim, { targetItems: 512, maxItemKeys: Infinity });
 * console.log(caps.merges); // 16384
 * ```
 */
export function attentionCaps(
  H: number,
  G: number,
  shape: HybridShape,
  lim: Pick<StepLimits, "maxTokens" | "maxSeqs" | "maxContext">,
  split: AttentionSplit,
): AttentionCaps {
  const tiles = Math.ceil(lim.maxTokens / shape.qt) + lim.maxSeqs;
  // Splits forced by maxItemKeys: at most this many ranges per tile.
  const forced = Number.isFinite(split.maxItemKeys)
    ? Math.ceil(lim.maxContext / split.maxItemKeys)
    : 1;
  const forcedRows = forced > 1 ? lim.maxTokens * H * forced : 0;
  return {
    items: Math.min(
      65535,
      2 * tiles * G * forced + 2 * split.targetItems,
    ),
    // One merge workgroup per entry: at most 65,535 of them (the dispatch limit per dimension).
    merges: Math.min(65535, lim.maxTokens * H),
    partialRows: 2 * split.targetItems * shape.rowsMax + forcedRows,
  };
}

/** Words the work and merge lists add to the metadata buffer. */
export function attentionWords(caps: AttentionCaps): number {
  return caps.items * GEOMETRY.WORK_WORDS + caps.merges * GEOMETRY.MERGE_WORDS;
}

/**
 * Builds the work and merge lists of a packed step into `meta` (which holds `metaWords(lim)`
 * words of packed step, then room for {@link attentionWords}) and sets the header words
 * NWP, WORK, NW and MERGE.
 *
 * @example
 * ```ts
 * import { attentionCaps, attentionWords, planAttention } from "./attention_plan.ts";
 * import { hybridShape } from "../kernels/geometry.ts";
 * import { metaWords, packStep } from "../batch/step_batch.ts";
 * const lim = { maxTokens: 16, maxSeqs: 2, numPages: 8, vocab: 32, maxContext: 64, logSize: 4 };
 * const shape = hybridShape(4, 2, 16);
 * const split = { targetItems: 4, maxItemKeys: Infinity };
 * const caps = attentionCaps(4, 2, shape, lim, split);
 * const p = packStep({ seqs: [
 *   { slot: 0, start: 0, tokens: [1, 2, 3], pages: [0], sample: null },
 *   { slot: 1, start: 40, tokens: null, pages: [1, 2, 3], sample: { temperature: 0, topP: 1, seed: 0 } },
 * ], logBase: 0 }, lim);
 * const meta = new Uint32Array(metaWords(lim) + attentionWords(caps));
 * meta.set(p.meta);
 * const plan = planAttention(meta, lim, 2, shape, caps, split);
 * console.log(plan.prefillItems, plan.items); // 2 4
 * ```
 */
export function planAttention(
  meta: Uint32Array,
  lim: StepLimits,
  G: number,
  shape: HybridShape,
  caps: AttentionCaps,
  split: AttentionSplit,
): AttentionPlan {
  const { targetItems, maxItemKeys } = split;
  const minSplit = split.minSplitKeys ?? shape.kb;
  const scale = split.mixedDecodeScale ?? MIXED_DECODE_SCALE;
  if (!(Number.isInteger(scale) && scale >= 1)) {
    throw new Error(
      `Attention plan: mixedDecodeScale must be a positive integer, got ${scale}`,
    );
  }
  if (!(minSplit >= shape.kb && minSplit % shape.kb === 0)) {
    throw new Error(
      `Attention plan: minSplitKeys must be a positive multiple of the key block ${shape.kb}, got ${minSplit}`,
    );
  }
  if (
    maxItemKeys !== Infinity &&
    !(maxItemKeys >= shape.kb && maxItemKeys % shape.kb === 0)
  ) {
    throw new Error(
      `Attention plan: maxItemKeys must be Infinity or a positive multiple of the key block ${shape.kb}, got ${maxItemKeys}`,
    );
  }
  const S = meta[HDR.S];
  const H = shape.hg * G;
  const workOff = metaWords(lim);
  const mergeOff = workOff + caps.items * GEOMETRY.WORK_WORDS;
  // Tiles: [seq, t0, nq, keys] with prefill tiles first.
  const pre: number[][] = [];
  const dec: number[][] = [];
  let keySum = 0;
  for (let s = 0; s < S; s++) {
    const q0 = meta[meta[HDR.QSTART] + s];
    const n = meta[meta[HDR.QLEN] + s];
    const start = meta[meta[HDR.POS] + q0];
    for (let i = 0; i < n; i += shape.qt) {
      const nq = Math.min(shape.qt, n - i);
      const keys = start + i + nq;
      (n > 1 ? pre : dec).push([s, q0 + i, nq, keys]);
      keySum += keys;
    }
  }
  const tiles = [...pre, ...dec];
  const base = tiles.length * G;
  const wanted = base >= targetItems ? Infinity : Math.max(
    minSplit,
    Math.ceil(keySum * G / targetItems / shape.kb) * shape.kb,
  );
  let splitKeys = Math.min(wanted, maxItemKeys);
  for (;;) {
    // Decode ranges in a step with prefill tiles: scale times as long, within maxItemKeys.
    const decodeKeys = pre.length > 0 && dec.length > 0
      ? Math.min(splitKeys * scale, maxItemKeys)
      : splitKeys;
    const r = tryPlan(
      meta,
      tiles,
      pre.length,
      G,
      H,
      shape,
      splitKeys,
      decodeKeys,
      caps,
      workOff,
      mergeOff,
    );
    if (r) {
      meta[HDR.NWP] = r.prefillItems;
      meta[HDR.WORK] = workOff;
      meta[HDR.NW] = r.items;
      meta[HDR.MERGE] = mergeOff;
      return r;
    }
    if (splitKeys >= maxItemKeys) {
      throw new Error(
        `Attention plan: the step's tiles (${base} items unsplit, ranges of at most ${maxItemKeys} keys) exceed the capacity of ${caps.items} items or ${caps.partialRows} partial rows`,
      );
    }
    splitKeys *= 2;
    if (splitKeys > (lim.maxContext + shape.kb) * 2) splitKeys = Infinity;
    splitKeys = Math.min(splitKeys, maxItemKeys);
  }
}

function tryPlan(
  meta: Uint32Array,
  tiles: number[][],
  numPre: number,
  G: number,
  H: number,
  shape: HybridShape,
  splitKeys: number,
  decodeKeys: number,
  caps: AttentionCaps,
  workOff: number,
  mergeOff: number,
): AttentionPlan | null {
  const W = GEOMETRY.WORK_WORDS;
  let items = 0;
  let prefillItems = 0;
  let merges = 0;
  let rows = 0;
  let split = false;
  let decSplit = false;
  for (let ti = 0; ti < tiles.length; ti++) {
    const [s, t0, nq, keys] = tiles[ti];
    const R = nq * shape.hg;
    const sk = ti < numPre ? splitKeys : decodeKeys;
    const n = Math.max(1, Math.ceil(keys / sk));
    if (items + n * G > caps.items) return null;
    if (n > 1) {
      split = true;
      if (ti >= numPre) decSplit = true;
      if (rows + n * G * R > caps.partialRows) return null;
      if (merges + G * R > caps.merges) return null;
    }
    for (let g = 0; g < G; g++) {
      const tileBase = rows;
      for (let k = 0; k < n; k++) {
        const k0 = n === 1 ? 0 : k * sk;
        const k1 = n === 1 ? keys : Math.min(keys, (k + 1) * sk);
        const o = workOff + items * W;
        meta[o] = s;
        meta[o + 1] = g;
        meta[o + 2] = t0;
        meta[o + 3] = nq;
        meta[o + 4] = k0;
        meta[o + 5] = k1;
        meta[o + 6] = n === 1 ? DIRECT : tileBase + k * R;
        meta[o + 7] = 0;
        items++;
      }
      if (n > 1) {
        for (let r = 0; r < R; r++) {
          const m = mergeOff + merges * GEOMETRY.MERGE_WORDS;
          const t = t0 + Math.floor(r / shape.hg);
          const h = g * shape.hg + (r % shape.hg);
          meta[m] = t * H + h;
          meta[m + 1] = tileBase + r;
          meta[m + 2] = R;
          meta[m + 3] = n;
          merges++;
        }
        rows += n * R;
      }
    }
    if (ti < numPre) prefillItems = items;
  }
  return {
    items,
    prefillItems,
    merges,
    partialRows: rows,
    splitKeys: split ? splitKeys : 0,
    decodeSplitKeys: decSplit ? decodeKeys : 0,
  };
}
