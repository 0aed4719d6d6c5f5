/**
 * Launch geometry of every kernel: the one source of truth for workgroup sizes, tiles and
 * dispatch grids. The constants reach the WGSL as `const` declarations of the prelude that
 * {@link shaderPrelude} builds; the host computes grids with the functions below.
 *
 * Longer than ~400 lines on purpose: the geometry constants, their checks and the grid functions
 * that use them are one table read together; splitting them would let a constant and the grid
 * that depends on it drift apart.
 *
 * @module
 */
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import { HDR, ROW_WORDS, TOK_FROM_SLOT } from "../batch/step_batch.ts";

/** Workgroup sizes, tiles and limits, by kernel. */
export const GEOMETRY = {
  /** embed.wgsl: one invocation per (token, 4 channels). */
  EMBED_WG: 64,
  /** rmsnorm.wgsl: one workgroup per row. */
  NORM_WG: 256,
  /** linear_gemv.wgsl: GEMV_ROWS output columns x GEMV_LANES lanes; at most GEMV_MB rows. */
  GEMV_ROWS: 8,
  GEMV_LANES: 32,
  GEMV_MB: 16,
  /**
   * Output columns per invocation of linear_gemv.wgsl (1, 2 or 4; more than 1 only with GEMV_MB
   * 1): the input is loaded once for GEMV_RPT weight rows. linear_gemv (GEMV_MB 16) takes 1.
   */
  GEMV_RPT: 1,
  /**
   * The engine runs steps of at most GEMV_MAXM rows through linear_gemv (in GEMV_MB-row slices
   * along grid y), and layers of at most GEMV_NARROW_N outputs up to GEMV_NARROW_M rows, where
   * the tiled matmul has too few workgroups. GEMV_NARROW_M = GEMV_MAXM by default: with the
   * split over K the tiled matmul beat two 16-row GEMV slices at M 32 on the H200 (down: 236
   * vs 615 us, docs/perf.md).
   */
  GEMV_MAXM: 16,
  GEMV_NARROW_M: 16,
  GEMV_NARROW_N: 4096,
  /**
   * Split over K of the tiled matmul for narrow layers (o, down: linear_tiled's KSPLIT flag,
   * partials summed by linear_reduce.wgsl): S = min(SPLIT_MAX, TILE_K slices, max(1,
   * SPLIT_TARGET / tiles)) K ranges, so that about SPLIT_TARGET workgroups run
   * (geometry.ts tiledSplit, the prelude's fn ksplit).
   */
  SPLIT_TARGET: 528,
  SPLIT_MAX: 8,
  /** linear_reduce.wgsl: one invocation per output. */
  REDUCE_WG: 256,
  /**
   * linear_gemv_s (linear_gemv.wgsl compiled for few rows, smallGemvGeometry): at most GEMV_SMB
   * rows, GEMV_SROWS output columns x GEMV_SLANES lanes per workgroup. GEMV_SLD: weight loads
   * in flight per invocation of its one-row path (4 or 8, issued before any is used; GEMV_SLD /
   * GEMV_SRPT k steps of GEMV_SRPT columns per pass). linear_gemv (GEMV_MB > 1) always takes 4.
   * GEMV_SROT 1: workgroup wx starts its passes over K at pass wx % passes (so that concurrent
   * workgroups read different offsets of their rows); 0 keeps every lane's summation order.
   */
  GEMV_SMB: 1,
  GEMV_SROWS: 4,
  GEMV_SLANES: 64,
  GEMV_SRPT: 1,
  GEMV_SLD: 4,
  GEMV_SROT: 0,
  /**
   * linear_tiled.wgsl: TILE_M x TILE_N outputs per workgroup of TILE_WG =
   * (TILE_M / TILE_RM) * (TILE_N / TILE_RN), TILE_RM x TILE_RN each, K in slices of TILE_K.
   */
  TILE_M: 64,
  TILE_N: 64,
  TILE_K: 16,
  TILE_RM: 4,
  TILE_RN: 4,
  TILE_WG: 256,
  /**
   * linear_tiled(_h) staging (tiled_stage.wgsl): 0 loads each TILE_K slice at its own step; 1
   * loads slice s + 1 into registers while slice s is computed; 2 as 1 with two staging buffers
   * (one barrier per slice instead of two). The outputs are the same.
   */
  TILE_PF: 0,
  /**
   * linear_tiled(_h): 1 stages rows first (conflict-free workgroup stores, tiled_stage.wgsl) and
   * gives an 8 x 8 invocation the W columns 4 tx and TILE_N / 2 + 4 tx (consecutive vec4 loads
   * across a warp); 0 stages along k first and gives it 8 adjacent columns. Same outputs.
   */
  TILE_SW: 0,
  /** rope_kv.wgsl: one invocation per (token, rotary pair or V pair). */
  ROPE_WG: 64,
  /** attention.wgsl: one workgroup per (query head, token); keys in blocks of ATTN_WG. */
  ATTN_WG: 64,
  ATTN_MAX_D: 256,
  /**
   * attention_hybrid.wgsl: one workgroup of HYB_WG per work item. Prefill tiles: one query row
   * (token x GQA head) per invocation, at most HYB_ROWS rows, K and V blocks of at most
   * HYB_ELEMS f32 each in workgroup memory (kb = keys per block, a power of two <= HYB_KB).
   * Decode items: one key per invocation per block
   * of HYB_WG keys, at most HYB_MAX_HG query heads per kv head, hg * D / 4 <= HYB_WG.
   */
  HYB_WG: 128,
  HYB_ROWS: 128,
  HYB_KB: 64,
  HYB_ELEMS: 2048,
  HYB_MAX_HG: 16,
  /**
   * attention_hybrid.wgsl decode items: 1 issues each key block's loads one block ahead (into
   * registers, while the block before is scored), 0 at the block itself (the benchmark's
   * baseline). Either way each invocation loads at most 4 K and 4 V vec4s per block:
   * HYB_ELEMS / 4 <= 4 HYB_WG (checkHybridGeometry).
   */
  HYB_PF: 1,
  /**
   * attention_hybrid.wgsl: 1 compiles the decode path alone, for dispatches of decode items only
   * (a benchmark variant: slower on the H200, docs/perf.md engine14i); 0 both paths, picked per
   * item by its query tokens.
   */
  HYB_DEC: 0,
  /**
   * attention_hybrid.wgsl decode items: 1 computes one exp per score (the scorers take each
   * block's max per head; the owners rescale once per block and add p * V), 0 the owners' online
   * softmax over their keys (one or two exp per key and owner).
   */
  HYB_SX: 0,
  /**
   * attention_hybrid.wgsl decode items: 1 (the default) writes the block's scores into a
   * workgroup array of their own (one barrier fewer per block: the K rows need not be read to
   * the end before a score is written; decode-only dispatches 2-5 % faster on the H200,
   * docs/perf.md engine14o), 0 over the block's K rows once every scorer has read them.
   */
  HYB_SC: 1,
  /** attention_hybrid.wgsl: u32 words per work item; attention_merge.wgsl: words per entry. */
  WORK_WORDS: 8,
  MERGE_WORDS: 4,
  /** attention_merge.wgsl: one workgroup per merged (token, head) row. */
  MERGE_WG: 64,
  /**
   * sample_blocks.wgsl: one workgroup per (block of SAMPLE_BLOCK logits, sample row);
   * sample.wgsl: one workgroup per sample row (NB = ceil(V / SAMPLE_BLOCK) <= SAMPLE_WG).
   */
  SAMPLE_WG: 256,
  SAMPLE_BLOCK: 4096,
  SAMPLE_BISECT: 24,
  /** copy.wgsl (benchmark ceiling): one vec4 per invocation. */
  COPY_WG: 256,
  /** l2_touch.wgsl (the L2 prefetch): TOUCH_LOADS vec4 loads per invocation. */
  TOUCH_WG: 256,
  TOUCH_LOADS: 4,
} as const;

/** The launch geometry: {@link GEOMETRY}, or a variant of it (the benchmark's sweeps). */
export type Geometry = { readonly [K in keyof typeof GEOMETRY]: number };

/**
 * Launch-geometry variants of the linear kernels that the benchmark sweeps (and the tests check
 * against the reference): GEMV rows x lanes x unroll, and tiled matmul tiles.
 */
export const GEMV_VARIANTS: Record<string, Partial<Geometry>> = {
  "r8 l32": {},
  "r4 l64": { GEMV_ROWS: 4, GEMV_LANES: 64 },
  "r16 l16": { GEMV_ROWS: 16, GEMV_LANES: 16 },
  "r2 l128": { GEMV_ROWS: 2, GEMV_LANES: 128 },
  "r8 l32 mb4": { GEMV_MB: 4 },
  "r16 l16 mb4": { GEMV_ROWS: 16, GEMV_LANES: 16, GEMV_MB: 4 },
  "r8 l32 mb8": { GEMV_MB: 8 },
};
/** Launch-geometry variants of linear_gemv_s (the few-rows GEMV) that the benchmark sweeps. */
export const GEMV_S_VARIANTS: Record<string, Partial<Geometry>> = {
  "s r4 l64": {},
  "s r8 l32": { GEMV_SROWS: 8, GEMV_SLANES: 32 },
  "s r2 l128": { GEMV_SROWS: 2, GEMV_SLANES: 128 },
  "s r1 l256": { GEMV_SROWS: 1, GEMV_SLANES: 256 },
  "s r16 l16": { GEMV_SROWS: 16, GEMV_SLANES: 16 },
  "s r4 l64 c2": { GEMV_SRPT: 2 },
  "s r4 l64 c4": { GEMV_SRPT: 4 },
  "s r8 l32 c2": { GEMV_SROWS: 8, GEMV_SLANES: 32, GEMV_SRPT: 2 },
  "s r8 l32 c4": { GEMV_SROWS: 8, GEMV_SLANES: 32, GEMV_SRPT: 4 },
  "s r2 l128 c4": { GEMV_SROWS: 2, GEMV_SLANES: 128, GEMV_SRPT: 4 },
  "s r16 l16 c2": { GEMV_SROWS: 16, GEMV_SLANES: 16, GEMV_SRPT: 2 },
  "s r16 l16 c4": { GEMV_SROWS: 16, GEMV_SLANES: 16, GEMV_SRPT: 4 },
  // Eight weight loads in flight per invocation (u8), 8 lanes per column (l8), passes over K
  // rotated per workgroup (t).
  "s r16 l16 u8": { GEMV_SROWS: 16, GEMV_SLANES: 16, GEMV_SLD: 8 },
  "s r32 l8 u8": { GEMV_SROWS: 32, GEMV_SLANES: 8, GEMV_SLD: 8 },
  "s r8 l32 t": { GEMV_SROWS: 8, GEMV_SLANES: 32, GEMV_SROT: 1 },
  "s r16 l16 t": { GEMV_SROWS: 16, GEMV_SLANES: 16, GEMV_SROT: 1 },
  "s r32 l8 t": { GEMV_SROWS: 32, GEMV_SLANES: 8, GEMV_SROT: 1 },
  "s r32 l8 u8 t": {
    GEMV_SROWS: 32,
    GEMV_SLANES: 8,
    GEMV_SLD: 8,
    GEMV_SROT: 1,
  },
  "s r4 l64 c2 t": { GEMV_SRPT: 2, GEMV_SROT: 1 },
  "s r8 l32 c2 t": {
    GEMV_SROWS: 8,
    GEMV_SLANES: 32,
    GEMV_SRPT: 2,
    GEMV_SROT: 1,
  },
  "s r2 l128 c4 t": {
    GEMV_SROWS: 2,
    GEMV_SLANES: 128,
    GEMV_SRPT: 4,
    GEMV_SROT: 1,
  },
  "s r4 l64 c4 t": { GEMV_SRPT: 4, GEMV_SROT: 1 },
  // Several columns per invocation with eight loads in flight, and one or two columns of
  // invocations per workgroup: down (K 8,192, 256 workgroups of 8 columns at `s r2 l128 c4`)
  // has few invocations per SM and 8 passes of 4 loads each.
  "s r2 l128 c4 u8": {
    GEMV_SROWS: 2,
    GEMV_SLANES: 128,
    GEMV_SRPT: 4,
    GEMV_SLD: 8,
  },
  "s r2 l128 c2 u8": {
    GEMV_SROWS: 2,
    GEMV_SLANES: 128,
    GEMV_SRPT: 2,
    GEMV_SLD: 8,
  },
  "s r1 l256 c4": { GEMV_SROWS: 1, GEMV_SLANES: 256, GEMV_SRPT: 4 },
  "s r1 l256 c4 u8": {
    GEMV_SROWS: 1,
    GEMV_SLANES: 256,
    GEMV_SRPT: 4,
    GEMV_SLD: 8,
  },
  "s r1 l256 c2 u8": {
    GEMV_SROWS: 1,
    GEMV_SLANES: 256,
    GEMV_SRPT: 2,
    GEMV_SLD: 8,
  },
  "s r4 l64 c2 u8": { GEMV_SRPT: 2, GEMV_SLD: 8 },
};

/**
 * Whether the one-row GEMV of geometry `geo` can carry rope_kv's epilogue for head size D
 * (linear_gemv_rope, gemv_rope.wgsl): one row (GEMV_SMB 1), one column per invocation, and an
 * even GEMV_SROWS dividing D, so that a workgroup holds whole rotary pairs (i, i + D/2).
 *
 * @example
 * ```ts
 * import { GEOMETRY, ropeGemvFits } from "./geometry.ts";
 * console.log(ropeGemvFits(GEOMETRY, 64)); // true
 * console.log(ropeGemvFits({ ...GEOMETRY, GEMV_SRPT: 2 }, 64)); // false
 * ```
 */
export function ropeGemvFits(geo: Geometry, D: number): boolean {
  const R = geo.GEMV_SROWS;
  return geo.GEMV_SMB === 1 && geo.GEMV_SRPT === 1 && R % 2 === 0 &&
    D % R === 0;
}

/**
 * The small-GEMV constants of a {@link GEMV_S_VARIANTS} entry in full (the variant over
 * GEOMETRY, as the benchmark times it), to lay over another geometry (EngineOptions.linear.gemvS).
 *
 * @example
 * ```ts
 * import { gemvSVariant } from "./geometry.ts";
 * console.log(gemvSVariant("s r4 l64").GEMV_SROWS); // 4
 * ```
 */
export function gemvSVariant(name: string): Partial<Geometry> {
  const over = GEMV_S_VARIANTS[name];
  if (!over) {
    throw new Error(
      `Small-GEMV variant ${name}: unknown, expected one of ${
        Object.keys(GEMV_S_VARIANTS).join(", ")
      }`,
    );
  }
  return {
    GEMV_SROWS: GEOMETRY.GEMV_SROWS,
    GEMV_SLANES: GEOMETRY.GEMV_SLANES,
    GEMV_SRPT: GEOMETRY.GEMV_SRPT,
    GEMV_SLD: GEOMETRY.GEMV_SLD,
    GEMV_SROT: GEOMETRY.GEMV_SROT,
    ...over,
  };
}

/** The linear layers linear_gemv_s may run with a geometry of their own (EngineOptions.linear). */
export const GEMV_SHAPES = ["qkv", "o", "gateUp", "down", "lmHead"] as const;
/** A linear layer of {@link GEMV_SHAPES}. */
export type GemvShape = typeof GEMV_SHAPES[number];

/**
 * The geometry linear_gemv_s is compiled with: `geo` with its small-GEMV constants as the GEMV
 * ones (GEMV_MB = GEMV_SMB, GEMV_ROWS = GEMV_SROWS, GEMV_LANES = GEMV_SLANES).
 *
 * @example
 * ```ts
 * import { GEOMETRY, smallGemvGeometry } from "./geometry.ts";
 * console.log(smallGemvGeometry(GEOMETRY).GEMV_MB); // 1
 * ```
 */
export function smallGemvGeometry(geo: Geometry): Geometry {
  return {
    ...geo,
    GEMV_MB: geo.GEMV_SMB,
    GEMV_ROWS: geo.GEMV_SROWS,
    GEMV_LANES: geo.GEMV_SLANES,
    GEMV_RPT: geo.GEMV_SRPT,
  };
}

/**
 * Refuses GEMV geometries linear_gemv.wgsl cannot run, for both compilations: GEMV_MB (and
 * GEMV_SMB) 1 or a multiple of 4 up to 16 and at most the lanes, lanes a power of two.
 *
 * @example
 * ```ts
 * import { checkGemvGeometry, GEOMETRY } from "./geometry.ts";
 * checkGemvGeometry(GEOMETRY);
 * try {
 *   checkGemvGeometry({ ...GEOMETRY, GEMV_SLANES: 48 });
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("GEMV geometry")); // true
 * }
 * ```
 */
export function checkGemvGeometry(geo: Geometry): void {
  for (const g of [geo, smallGemvGeometry(geo)]) {
    const mb = g.GEMV_MB;
    const lanes = g.GEMV_LANES;
    if (
      !(mb === 1 || (mb % 4 === 0 && mb >= 4 && mb <= 16)) || mb > lanes ||
      lanes < 1 || (lanes & (lanes - 1)) !== 0 || g.GEMV_ROWS < 1 ||
      g.GEMV_ROWS * lanes > 1024 || ![1, 2, 4].includes(g.GEMV_RPT) ||
      (g.GEMV_RPT > 1 && mb !== 1) || ![4, 8].includes(g.GEMV_SLD) ||
      ![0, 1].includes(g.GEMV_SROT)
    ) {
      throw new Error(
        `GEMV geometry rows ${g.GEMV_ROWS} x lanes ${lanes}, at most ${mb} rows, ${g.GEMV_RPT} columns per invocation, ${g.GEMV_SLD} loads in flight (GEMV_SLD), GEMV_SROT ${g.GEMV_SROT}: expected the rows 1 or a multiple of 4 up to 16 and at most the lanes, the lanes a power of two, rows x lanes <= 1024, columns per invocation 1, 2 or 4 (more than 1 only with one row), GEMV_SLD 4 or 8, GEMV_SROT 0 or 1`,
      );
    }
  }
  if (geo.GEMV_SMB > geo.GEMV_MB) {
    throw new Error(
      `GEMV geometry: GEMV_SMB ${geo.GEMV_SMB} > GEMV_MB ${geo.GEMV_MB}: expected the few-rows GEMV to take at most as many rows as the other`,
    );
  }
}

/** See {@link GEMV_VARIANTS}. */
export const TILE_VARIANTS: Record<string, Partial<Geometry>> = {
  "64x64x16 4x4": {},
  "32x64x16 4x4": { TILE_M: 32, TILE_WG: 128 },
  "128x128x16 8x8": { TILE_M: 128, TILE_N: 128, TILE_RM: 8, TILE_RN: 8 },
  "128x128x8 8x8": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_K: 8,
    TILE_RM: 8,
    TILE_RN: 8,
  },
  "64x128x16 8x8": {
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_WG: 128,
  },
  "128x64x16 8x8": {
    TILE_M: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_WG: 128,
  },
  // The next slice's loads in flight during the compute (TILE_PF 1), and in a second staging
  // buffer (TILE_PF 2).
  "128x128x16 8x8 pf1": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_PF: 1,
  },
  "128x128x16 8x8 pf2": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_PF: 2,
  },
  "128x128x32 8x8 pf1": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_K: 32,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_PF: 1,
  },
  "64x128x16 8x8 pf2": {
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_WG: 128,
    TILE_PF: 2,
  },
  "32x64x16 4x4 pf2": { TILE_M: 32, TILE_WG: 128, TILE_PF: 2 },
  // Rows-first staging and interleaved W columns (TILE_SW 1).
  "128x128x16 8x8 sw": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_SW: 1,
  },
  "128x128x16 8x8 sw pf2": {
    TILE_M: 128,
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_SW: 1,
    TILE_PF: 2,
  },
  "64x128x16 8x8 sw": {
    TILE_N: 128,
    TILE_RM: 8,
    TILE_RN: 8,
    TILE_WG: 128,
    TILE_SW: 1,
  },
  "32x64x16 4x4 sw": { TILE_M: 32, TILE_WG: 128, TILE_SW: 1 },
};

/** Threads of a linear_gemv workgroup. */
export const GEMV_WG = GEOMETRY.GEMV_ROWS * GEOMETRY.GEMV_LANES;

/**
 * Refuses a tiled-matmul geometry the kernel cannot run (TILE_WG must equal the thread tiles,
 * slices whole W8 units, thread tiles whole vec4s, a slice's loads within the staging's named
 * registers, TILE_PF 0, 1 or 2, TILE_SW 0 or 1).
 *
 * @example
 * ```ts
 * import { checkTileGeometry, GEOMETRY } from "./geometry.ts";
 * checkTileGeometry(GEOMETRY);
 * try {
 *   checkTileGeometry({ ...GEOMETRY, TILE_WG: 128 });
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("Tile geometry")); // true
 * }
 * ```
 */
export function checkTileGeometry(geo: Geometry): void {
  const threads = (geo.TILE_M / geo.TILE_RM) * (geo.TILE_N / geo.TILE_RN);
  // tiled_stage.wgsl holds one invocation's loads of a slice in named registers.
  const aLoads = Math.ceil(geo.TILE_M * geo.TILE_K / 4 / geo.TILE_WG);
  const wLoads = Math.ceil(geo.TILE_N * geo.TILE_K / 8 / geo.TILE_WG);
  if (
    threads !== geo.TILE_WG || geo.TILE_K % 8 !== 0 ||
    geo.TILE_RM !== geo.TILE_RN || ![4, 8].includes(geo.TILE_RM) ||
    geo.TILE_M % geo.TILE_RM !== 0 || geo.TILE_N % geo.TILE_RN !== 0 ||
    aLoads > 4 || wLoads > 2 || ![0, 1, 2].includes(geo.TILE_PF) ||
    ![0, 1].includes(geo.TILE_SW)
  ) {
    throw new Error(
      `Tile geometry ${geo.TILE_M}x${geo.TILE_N}x${geo.TILE_K}, thread tile ${geo.TILE_RM}x${geo.TILE_RN}, TILE_WG ${geo.TILE_WG}, TILE_PF ${geo.TILE_PF}, TILE_SW ${geo.TILE_SW}: expected TILE_WG == (TILE_M / TILE_RM) * (TILE_N / TILE_RN) = ${threads}, TILE_K % 8 == 0, TILE_RM == TILE_RN in {4, 8}, at most 4 x and 2 W loads per invocation and slice (got ${aLoads} and ${wLoads}), TILE_PF in {0, 1, 2}, TILE_SW in {0, 1}`,
    );
  }
}

/**
 * Refuses a hybrid attention geometry whose decode block does not fit the kernel's four load
 * slots per invocation (HYB_ELEMS / 4 <= 4 HYB_WG), whose HYB_PF, HYB_DEC, HYB_SX or HYB_SC is
 * not 0 or 1, or whose HYB_SX 1 slots (p and the rescale per head) do not fit the K block.
 *
 * @example
 * ```ts
 * import { checkHybridGeometry, GEOMETRY } from "./geometry.ts";
 * checkHybridGeometry(GEOMETRY);
 * try {
 *   checkHybridGeometry({ ...GEOMETRY, HYB_ELEMS: 4096 });
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("Hybrid attention geometry")); // true
 * }
 * ```
 */
export function checkHybridGeometry(geo: Geometry): void {
  if (
    geo.HYB_ELEMS / 4 > 4 * geo.HYB_WG || ![0, 1].includes(geo.HYB_PF) ||
    ![0, 1].includes(geo.HYB_DEC) || ![0, 1].includes(geo.HYB_SX) ||
    ![0, 1].includes(geo.HYB_SC) ||
    (geo.HYB_SX === 1 && 2 * geo.HYB_WG + 2 * geo.HYB_MAX_HG > geo.HYB_ELEMS)
  ) {
    throw new Error(
      `Hybrid attention geometry HYB_ELEMS ${geo.HYB_ELEMS}, HYB_WG ${geo.HYB_WG}, HYB_PF ${geo.HYB_PF}, HYB_DEC ${geo.HYB_DEC}, HYB_SX ${geo.HYB_SX}, HYB_SC ${geo.HYB_SC}: expected HYB_ELEMS / 4 <= 4 * HYB_WG (four K and V loads per invocation and decode block), HYB_PF, HYB_DEC, HYB_SX and HYB_SC 0 or 1, and with HYB_SX 1 2 * HYB_WG + 2 * HYB_MAX_HG <= HYB_ELEMS`,
    );
  }
}

/** Workgroups per grid dimension WebGPU guarantees (maxComputeWorkgroupsPerDimension). */
export const MAX_GRID_DIM = 65535;

/** A dispatch grid in workgroups. */
export type Grid = readonly [number, number, number];

const cdiv = (a: number, b: number) => Math.ceil(a / b);

/** Grids, by kernel. M: rows, N: output columns, T: tokens, J: per-token items. */
export const grids = {
  embed: (T: number, C: number): Grid => [cdiv(C / 4, GEOMETRY.EMBED_WG), T, 1],
  rmsnorm: (M: number): Grid => [M, 1, 1],
  /** linear_gemv over M rows (default GEMV_MB): slices of GEMV_MB rows along y. */
  gemv: (N: number, geo: Geometry = GEOMETRY, M = geo.GEMV_MB): Grid => [
    cdiv(N, geo.GEMV_ROWS * geo.GEMV_RPT),
    cdiv(M, geo.GEMV_MB),
    1,
  ],
  /** linear_gemv_s (the few-rows GEMV, GEMV_SROWS x GEMV_SRPT columns per workgroup) over M rows. */
  gemvS: (N: number, geo: Geometry = GEOMETRY, M = geo.GEMV_SMB): Grid => [
    cdiv(N, geo.GEMV_SROWS * geo.GEMV_SRPT),
    cdiv(M, geo.GEMV_SMB),
    1,
  ],
  /** linear_tiled(_h); with KSPLIT, z = the tiledSplit K ranges. */
  tiled: (M: number, N: number, geo: Geometry = GEOMETRY, K = 0): Grid => [
    cdiv(N, geo.TILE_N),
    cdiv(M, geo.TILE_M),
    K > 0 ? tiledSplit(M, N, K, geo) : 1,
  ],
  /** linear_reduce.wgsl over M x N outputs. */
  reduce: (M: number, N: number): Grid => [
    cdiv(M * N, GEOMETRY.REDUCE_WG),
    1,
    1,
  ],
  ropeKv: (T: number, H: number, G: number, D: number): Grid => [
    cdiv((H + G) * (D / 2) + G * (D / 2), GEOMETRY.ROPE_WG),
    T,
    1,
  ],
  attention: (T: number, H: number): Grid => [H, T, 1],
  /** n work items (attention_plan.ts builds the list). */
  attnHybrid: (n: number): Grid => [n, 1, 1],
  /** n merge entries. */
  attnMerge: (n: number): Grid => [n, 1, 1],
  sample: (R: number): Grid => [R, 1, 1],
  /** sample_blocks.wgsl over V logits of R rows. */
  sampleBlocks: (V: number, R: number): Grid => [
    cdiv(V, GEOMETRY.SAMPLE_BLOCK),
    R,
    1,
  ],
  copy: (
    n4: number,
  ): Grid => [Math.min(cdiv(n4, GEOMETRY.COPY_WG), MAX_GRID_DIM), 1, 1],
  /** l2_touch.wgsl over a buffer of `bytes` (its whole vec4s). */
  touch: (bytes: number): Grid => [
    Math.min(
      Math.max(
        1,
        cdiv(Math.floor(bytes / 16), GEOMETRY.TOUCH_LOADS * GEOMETRY.TOUCH_WG),
      ),
      MAX_GRID_DIM,
    ),
    1,
    1,
  ],
};

/**
 * K ranges of the tiled matmul's split over K (the KSPLIT flag) at M rows, N outputs, K inputs:
 * min(SPLIT_MAX, ceil(K / TILE_K), max(1, floor(SPLIT_TARGET / tiles))), tiles = the
 * workgroups of the unsplit grid. The WGSL prelude's `ksplit` computes the same.
 *
 * @example
 * ```ts
 * import { GEOMETRY, tiledSplit } from "./geometry.ts";
 * console.log(tiledSplit(64, 2048, 8192, GEOMETRY)); // 8 (32 tiles of 64 x 64)
 * console.log(tiledSplit(2048, 2048, 8192, GEOMETRY)); // 1
 * ```
 */
export function tiledSplit(
  M: number,
  N: number,
  K: number,
  geo: Geometry = GEOMETRY,
): number {
  const tiles = cdiv(N, geo.TILE_N) * cdiv(M, geo.TILE_M);
  return Math.min(
    geo.SPLIT_MAX,
    cdiv(K, geo.TILE_K),
    Math.max(1, Math.floor(geo.SPLIT_TARGET / tiles)),
  );
}

/**
 * f32 elements of the split-K partials buffer: the most S * M * N over M <= maxTokens and the
 * layers' K (N outputs each) where the split is taken (S > 1); at least 4.
 *
 * @example
 * ```ts
 * import { GEOMETRY, splitPartials } from "./geometry.ts";
 * console.log(splitPartials(2048, 2048, [2048, 8192], GEOMETRY)); // 2097152
 * ```
 */
export function splitPartials(
  maxTokens: number,
  N: number,
  Ks: number[],
  geo: Geometry = GEOMETRY,
): number {
  let most = 4;
  for (const K of Ks) {
    for (let M = 1; M <= maxTokens; M++) {
      const S = tiledSplit(M, N, K, geo);
      if (S > 1) most = Math.max(most, S * M * N);
    }
  }
  return most;
}

/** WGSL of {@link tiledSplit} and of a split's K range (in the prelude of every kernel). */
const KSPLIT_WGSL = `fn ksplit(M: u32, N: u32, K: u32) -> u32 {
  let tiles = ((N + TILE_N - 1u) / TILE_N) * ((M + TILE_M - 1u) / TILE_M);
  return min(min(SPLIT_MAX, (K + TILE_K - 1u) / TILE_K), max(1u, SPLIT_TARGET / tiles));
}
// K range [x, y) of split z (whole TILE_K slices; a range past K is empty), all of K if !on.
fn split_range(M: u32, N: u32, K: u32, z: u32, on: bool) -> vec2<u32> {
  let S = select(1u, ksplit(M, N, K), on);
  let per = ((K + TILE_K - 1u) / TILE_K + S - 1u) / S * TILE_K;
  return vec2<u32>(min(z * per, K), min(K, z * per + per));
}`;

/** How hybrid attention tiles a model's heads (host side of attention_hybrid.wgsl's geometry). */
export interface HybridShape {
  /** Query heads per kv head (H / G). */
  hg: number;
  /** Query rows per prefill tile: HYB_ROWS. */
  rowsMax: number;
  /** Tokens per prefill tile: floor(rowsMax / hg). */
  qt: number;
  /** Keys per block of a prefill tile: the largest power of two <= min(HYB_KB, HYB_ELEMS / D). */
  kb: number;
}

/**
 * The hybrid attention tiling for H query heads, G kv heads, head size D; refuses shapes the
 * kernel cannot hold.
 *
 * @example
 * ```ts
 * import { hybridShape } from "./geometry.ts";
 * console.log(hybridShape(32, 8, 64)); // { hg: 4, rowsMax: 128, qt: 32, kb: 32 }
 * ```
 */
export function hybridShape(H: number, G: number, D: number): HybridShape {
  const g = GEOMETRY;
  const hg = H / G;
  const rowsMax = g.HYB_ROWS;
  const fit = Math.min(g.HYB_KB, Math.floor(g.HYB_ELEMS / D));
  const kb = fit >= 1 ? 2 ** Math.floor(Math.log2(fit)) : 0;
  if (
    !Number.isInteger(hg) || hg > g.HYB_MAX_HG || hg > D ||
    (hg * D) / 4 > g.HYB_WG ||
    D % 4 !== 0 || kb < 1
  ) {
    throw new Error(
      `Hybrid attention: H ${H}, G ${G}, D ${D}: expected H % G == 0, H / G <= min(${g.HYB_MAX_HG}, D), (H / G) * D / 4 <= ${g.HYB_WG}, D % 4 == 0 and D <= ${g.HYB_ELEMS}`,
    );
  }
  return { hg, rowsMax, qt: Math.floor(rowsMax / hg), kb };
}

/**
 * Keys per block of an attention_hybrid.wgsl decode item (the WGSL's `dec_keys`): one score per
 * invocation (hg * kd <= HYB_WG), the block's K and V rows [kd][D / 4] within HYB_ELEMS / 4
 * vec4s each (the scores then replace the K rows: hg <= D).
 *
 * @example
 * ```ts
 * import { hybridDecodeKeys } from "./geometry.ts";
 * console.log(hybridDecodeKeys(4, 64)); // 32
 * ```
 */
export function hybridDecodeKeys(hg: number, D: number): number {
  const g = GEOMETRY;
  return Math.min(Math.floor(g.HYB_WG / hg), Math.floor(g.HYB_ELEMS / D));
}

/**
 * Weights are read 8 at a time as a `W8`: 16 bytes of f16 as vec4<u32> (unpack2x16float, one
 * 16-byte load), or two vec4<f32>; `w8_lo` / `w8_hi` give elements 0-3 and 4-7 as vec4<f32>.
 */
const W8_F16 = [
  "alias W8 = vec4<u32>;",
  "fn w8_lo(v: W8) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }",
  "fn w8_hi(v: W8) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.z), unpack2x16float(v.w)); }",
];
const W8_F32 = [
  "struct W8 { lo: vec4<f32>, hi: vec4<f32> }",
  "fn w8_lo(v: W8) -> vec4<f32> { return v.lo; }",
  "fn w8_hi(v: W8) -> vec4<f32> { return v.hi; }",
];

/** Storage dtype of weights and KV cache. Activations and accumulation are always f32. */
export type StorageDtype = "f16" | "f32";

/**
 * WGSL text put before every kernel: `enable f16` when needed, the `WT`/`WT4` storage aliases,
 * the `W8` weight unit, `HEAD_D` (the model's head_dim: attention kernels keep q and the output row in registers, so
 * they are compiled per head size; the host asserts P.D == HEAD_D), the metadata layout constants
 * and the geometry constants.
 *
 * @example
 * ```ts
 * import { shaderPrelude } from "./geometry.ts";
 * console.log(shaderPrelude("f32", 64).includes("alias WT = f32;")); // true
 * ```
 */
export function shaderPrelude(
  dtype: StorageDtype,
  headDim: number,
  geo: Geometry = GEOMETRY,
): string {
  const lines = dtype === "f16"
    ? ["enable f16;", "alias WT = f16;", ...W8_F16]
    : ["alias WT = f32;", ...W8_F32];
  lines.push(`const HEAD_D: u32 = ${headDim}u;`);
  lines.push("alias WT4 = vec4<WT>;");
  lines.push(`const PAGE_SIZE: u32 = ${PAGE_SIZE}u;`);
  lines.push(`const TOK_FROM_SLOT: u32 = ${TOK_FROM_SLOT}u;`);
  lines.push(`const ROW_WORDS: u32 = ${ROW_WORDS}u;`);
  for (const [k, v] of Object.entries(HDR)) {
    lines.push(`const HDR_${k}: u32 = ${v}u;`);
  }
  for (const [k, v] of Object.entries(geo)) {
    lines.push(`const ${k}: u32 = ${v}u;`);
  }
  lines.push(KSPLIT_WGSL);
  return lines.join("\n") + "\n";
}
