/**
 * Loop passes per invocation of every kernel, as functions of the sizes its loops run over, and
 * the check that refuses sizes past the adapter's loop budget (`EngineDevice.loopBudget`,
 * loop_budget.ts).
 *
 * Why: Mesa's llvmpipe gives all loops of one shader invocation ONE shared budget of 65,535
 * passes; once it is spent every loop stops after one more pass, and the kernel's remaining
 * outputs are silently never written (measured by loop_probe.wgsl). A pass is one trip through a
 * loop body or the trip that exits, so a `for` loop of n iterations costs n + 1, and a loop nested
 * in another costs that much on every outer iteration. Loops with a constant trip count of at
 * most UNROLLED_TRIPS are unrolled by llvmpipe's compiler and cost nothing (seen: the 4-trip
 * loops of linear_tiled.wgsl took no passes, its 16-trip loop 17 per K slice); longer constant
 * loops are counted in full. The counts mirror each kernel's loops with every lane taking the
 * longest trip count, i.e. they are upper bounds on llvmpipe: a kernel whose count is within the
 * budget writes every output (tests/adapters/webgpu/kernels/loop_bounds_test.ts runs kernels at the
 * largest size each bound allows, with sentinel-filled outputs). Each `.wgsl` header names its
 * function here.
 *
 * @module
 */
import {
  GEOMETRY,
  type Geometry,
  hybridDecodeKeys,
  type HybridShape,
} from "./geometry.ts";

const g = GEOMETRY;
const cdiv = (a: number, b: number) => Math.ceil(a / b);
/** Passes of one `for` loop of n iterations: n bodies and the exit. */
const loop = (n: number) => n + 1;
/** Constant trip counts up to this are unrolled by the compiler (no loop left to count). */
export const UNROLLED_TRIPS = 4;
/** Passes of a loop with the constant trip count n (its body still runs n times). */
const cloop = (n: number) => (n <= UNROLLED_TRIPS ? 0 : n + 1);
const log2 = (n: number) => Math.round(Math.log2(n));

/** Upper bounds of the loop passes of one invocation, by kernel. */
export const loopPasses = {
  /** linear_tiled.wgsl and linear_tiled_h.wgsl over K inputs with tile geometry `geo`. */
  tiled: (K: number, geo: Geometry = GEOMETRY): number => {
    const slices = cdiv(K, geo.TILE_K);
    const aLoads = cdiv((geo.TILE_M * geo.TILE_K) / 4, geo.TILE_WG);
    const wLoads = cdiv((geo.TILE_N * geo.TILE_K) / 8, geo.TILE_WG);
    const slice = cloop(aLoads) + cloop(wLoads) + cloop(geo.TILE_K);
    // store4's 4-column loop, at most 16 calls.
    return loop(slices) + slices * slice + 16 * cloop(4);
  },
  /**
   * linear_gemv.wgsl over K inputs with GEMV geometry `geo` (for linear_gemv_s pass
   * smallGemvGeometry(geo)): K / (32 GEMV_LANES) steps of four W8 units (one_row: K / (8
   * GEMV_LANES (GEMV_SLD / GEMV_RPT)) steps of GEMV_SLD loads), then the tree over the lanes,
   * each halving a loop over the GEMV_MB rows (one_row: the GEMV_RPT columns).
   */
  gemv: (K: number, geo: Geometry = GEOMETRY): number => {
    const halvings = log2(geo.GEMV_LANES);
    if (geo.GEMV_MB === 1) {
      const steps = cdiv(
        K / 8,
        (geo.GEMV_SLD / geo.GEMV_RPT) * geo.GEMV_LANES,
      );
      return cloop(4) + loop(steps) + steps * cloop(geo.GEMV_SLD) +
        loop(halvings) +
        halvings * cloop(geo.GEMV_RPT);
    }
    const steps = cdiv(K / 8, 4 * geo.GEMV_LANES);
    return 4 * cloop(4) + loop(steps) + steps * cloop(4) + cloop(4) +
      loop(halvings) + halvings * loop(geo.GEMV_MB);
  },
  /** linear_reduce.wgsl: at most SPLIT_MAX partials. */
  reduce: (): number => loop(g.SPLIT_MAX),
  /** rmsnorm.wgsl over C channels: two strided passes and the tree reduction. */
  rmsnorm: (C: number): number =>
    2 * loop(cdiv(C, g.NORM_WG)) + loop(log2(g.NORM_WG)),
  /** sample_blocks.wgsl: one block of SAMPLE_BLOCK logits (two strided passes, two trees). */
  sampleBlocks: (): number =>
    2 * loop(cdiv(g.SAMPLE_BLOCK, g.SAMPLE_WG)) +
    2 * loop(log2(g.SAMPLE_WG)),
  /**
   * sample.wgsl over V logits: the top-p path (the longest; top_p == 1 scans one block), then
   * invocation 0's sum over the NB (<= SAMPLE_WG) block partials for the log-probability.
   */
  sample: (V: number): number => {
    const n = cdiv(V, g.SAMPLE_WG);
    const red = loop(log2(g.SAMPLE_WG));
    const massAbove = loop(n) + red;
    const draw = 2 * loop(n) + 2 * cloop(g.SAMPLE_WG);
    return red + (1 + g.SAMPLE_BISECT) * massAbove + cloop(g.SAMPLE_BISECT) +
      draw + cloop(g.SAMPLE_WG);
  },
  /** attention_merge.wgsl merging n partials of D dims. */
  merge: (n: number, D: number): number =>
    loop(cdiv(D, g.MERGE_WG)) + cdiv(D, g.MERGE_WG) * loop(n),
  /** attention.wgsl (the part-1 kernel) over `keys` keys of D dims. */
  attention: (keys: number, D: number): number => {
    const dpt = g.ATTN_MAX_D / g.ATTN_WG;
    const blocks = cdiv(keys, g.ATTN_WG);
    const red = loop(log2(g.ATTN_WG));
    const block = loop(D) + 2 * red + loop(dpt) + dpt * loop(g.ATTN_WG);
    return loop(cdiv(D, g.ATTN_WG)) + 2 * loop(dpt) + loop(blocks) +
      blocks * block;
  },
  /** attention_hybrid.wgsl, a prefill tile over `keys` keys (blocks of shape.kb keys). */
  hybridTile: (shape: HybridShape, D: number, keys: number): number => {
    const block = 1 + loop(cdiv(shape.kb * (D / 4), g.HYB_WG)) +
      loop(shape.kb);
    return loop(cdiv(keys, shape.kb)) + cdiv(keys, shape.kb) * block;
  },
  /**
   * attention_hybrid.wgsl, a decode item over `keys` keys (blocks of hybridDecodeKeys keys; each
   * block's loads are four unlooped slots per invocation, dec_fetch).
   */
  hybridDecode: (shape: HybridShape, D: number, keys: number): number => {
    const phases = Math.floor(g.HYB_WG / (shape.hg * (D / 4)));
    const kd = hybridDecodeKeys(shape.hg, D);
    // HYB_SX 1: the scorers' loop over the block's scores (its max) as well.
    const block = 1 + loop(cdiv(kd, phases)) +
      ((g.HYB_SX as number) === 1 ? loop(kd) : 0);
    return loop(cdiv(keys, kd)) + cdiv(keys, kd) * block + loop(phases);
  },
  /** attention_hybrid.wgsl, one work item over `keys` keys (either path). */
  hybridItem: (shape: HybridShape, D: number, keys: number): number =>
    Math.max(
      loopPasses.hybridTile(shape, D, keys),
      loopPasses.hybridDecode(shape, D, keys),
    ),
};

/** The factor by which attention_hybrid.wgsl's counted passes must stay under the budget. */
export const HYBRID_MARGIN = 2;

/**
 * The most keys one attention_hybrid.wgsl work item may cover within `budget` loop passes
 * (a multiple of the key block), or Infinity when the adapter has no budget.
 *
 * @example
 * ```ts
 * import { hybridShape } from "./geometry.ts";
 * import { maxHybridKeys } from "./loop_passes.ts";
 * console.log(maxHybridKeys(hybridShape(32, 8, 64), 64, 65535)); // 53728
 * console.log(maxHybridKeys(hybridShape(32, 8, 64), 64, null)); // Infinity
 * ```
 */
export function maxHybridKeys(
  shape: HybridShape,
  D: number,
  budget: number | null,
): number {
  if (budget === null) return Infinity;
  // Half the budget: llvmpipe's lowering of this kernel adds passes the count does not see
  // (measured 2026-12-01: at D 128 an unsplit item stops between 30,016 and 36,016 keys, ~32
  // passes per 16-key block against 23 counted; at D 64 it is exact at 50,676 keys).
  const usable = Math.floor(budget / HYBRID_MARGIN);
  let blocks = 0;
  while (
    loopPasses.hybridItem(shape, D, (blocks + 1) * shape.kb) <= usable
  ) blocks++;
  if (blocks < 1) {
    throw new Error(
      `Kernel attention_hybrid.wgsl (D ${D}, ${shape.kb} keys per block): one key block needs ${
        loopPasses.hybridItem(shape, D, shape.kb)
      } loop passes per invocation, more than the adapter's loop budget of ${budget}`,
    );
  }
  return blocks * shape.kb;
}

/**
 * Refuses a kernel launch whose invocations need more loop passes than the adapter's budget
 * (null: no budget), naming the kernel, what sets its loops and both numbers.
 *
 * @example
 * ```ts
 * import { checkLoopBudget, loopPasses } from "./loop_passes.ts";
 * checkLoopBudget(65535, "linear_tiled.wgsl (K 8192)", loopPasses.tiled(8192));
 * try {
 *   checkLoopBudget(65535, "linear_tiled.wgsl (K 65536)", loopPasses.tiled(65536));
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("Kernel linear_tiled.wgsl (K 65536)")); // true
 * }
 * ```
 */
export function checkLoopBudget(
  budget: number | null,
  what: string,
  passes: number,
): void {
  if (budget !== null && passes > budget) {
    throw new Error(
      `Kernel ${what}: needs ${passes} loop passes per invocation, more than the adapter's loop budget of ${budget}`,
    );
  }
}
