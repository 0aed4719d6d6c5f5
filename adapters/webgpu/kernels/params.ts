/**
 * The uniform `Params` struct of each kernel as words, in WGSL field order: the one place the
 * host encodes them (forward.ts, tests and the benchmark all call these).
 *
 * @module
 */

import { GEOMETRY } from "./geometry.ts";
import { HDR } from "../batch/step_batch.ts";

/** A `Params` struct: u32 words, or `{ f32 }` for float fields. */
export type ParamWords = (number | { f32: number })[];

/**
 * linear_gemv.wgsl / linear_tiled.wgsl `flags` bits. NORM (the input's RMSNorm, fused) and
 * GATHER (input rows are the step's sample rows) are linear_gemv's only.
 */
export const LINEAR_FLAGS = {
  BIAS: 1,
  RESIDUAL: 2,
  SILU_MUL: 4,
  NORM: 8,
  GATHER: 16,
  /** linear_tiled(_h) only: split over K (grids.tiled with K), partials for linear_reduce. */
  KSPLIT: 32,
} as const;

/** embed.wgsl: `{ C4 }`. */
export const embedParams = (C: number): ParamWords => [C / 4, 0, 0, 0];

/** rmsnorm.wgsl: `{ C, gather, eps }`; gather = 1 normalizes the sample rows only. */
export const rmsnormParams = (
  C: number,
  gather: boolean,
  eps: number,
): ParamWords => [
  C,
  gather ? 1 : 0,
  { f32: eps },
  0,
];

/**
 * linear_*.wgsl: `{ N, K8, XS4, flags, m_hdr, eps }`; XS is the input row stride (2K with
 * SILU_MUL), m_hdr the header word holding M (HDR.T or HDR.R), eps the RMSNorm epsilon used with
 * NORM (default 0).
 *
 * @example
 * ```ts
 * import { linearParams, LINEAR_FLAGS } from "./params.ts";
 * console.log(linearParams(8, 16, 32, LINEAR_FLAGS.SILU_MUL, 0)); // [8, 2, 8, 4, 0, { f32: 0 }, 0, 0]
 * ```
 */
export const linearParams = (
  N: number,
  K: number,
  XS: number,
  flags: number,
  mHdr: number,
  eps = 0,
): ParamWords => [N, K / 8, XS / 4, flags, mHdr, { f32: eps }, 0, 0];

/**
 * linear_gemv.wgsl compiled as linear_gemv_rope (gemv_rope.wgsl): {@link linearParams} of one
 * row of qkv (N = (H + 2G) D, K = XS), with `rope_h` = H and `rope_base` = the layer's element
 * offset in its KV cache.
 *
 * @example
 * ```ts
 * import { linearRopeParams, LINEAR_FLAGS } from "./params.ts";
 * console.log(linearRopeParams(96, 64, LINEAR_FLAGS.NORM, 2, 0));
 * // [96, 8, 16, 8, 0, { f32: 0 }, 2, 0]
 * ```
 */
export const linearRopeParams = (
  N: number,
  K: number,
  flags: number,
  H: number,
  layerBase: number,
  eps = 0,
): ParamWords => [N, K / 8, K / 4, flags, HDR.T, { f32: eps }, H, layerBase];

/** rope_kv.wgsl: `{ H, G, D, layer_base }`. */
export const ropeKvParams = (
  H: number,
  G: number,
  D: number,
  layerBase: number,
): ParamWords => [
  H,
  G,
  D,
  layerBase,
];

/** attention.wgsl: `{ H, G, D, layer_base, scale }`, scale = 1 / sqrt(D). */
export const attentionParams = (
  H: number,
  G: number,
  D: number,
  layerBase: number,
): ParamWords => [H, G, D, layerBase, { f32: 1 / Math.sqrt(D) }, 0, 0, 0];

/** sample.wgsl and sample_blocks.wgsl: `{ V, NB }`, NB = ceil(V / SAMPLE_BLOCK) vocabulary blocks. */
export const sampleParams = (V: number): ParamWords => [
  V,
  Math.ceil(V / GEOMETRY.SAMPLE_BLOCK),
  0,
  0,
];

/**
 * attention_hybrid.wgsl: `{ H, G, D, layer_base, scale, kb, hg, base_hdr }`; `baseHdr` is 0 (items
 * from 0) or the header word holding the first item of the dispatch (HDR.NWP for the serial
 * baseline's decode dispatch).
 *
 * @example
 * ```ts
 * import { attentionHybridParams } from "./params.ts";
 * console.log(attentionHybridParams(4, 2, 16, 0, 32, 0).length); // 8
 * ```
 */
export const attentionHybridParams = (
  H: number,
  G: number,
  D: number,
  layerBase: number,
  kb: number,
  baseHdr: number,
): ParamWords => [
  H,
  G,
  D,
  layerBase,
  { f32: 1 / Math.sqrt(D) },
  kb,
  H / G,
  baseHdr,
];

/** attention_merge.wgsl: `{ D }`. */
export const attentionMergeParams = (D: number): ParamWords => [D, 0, 0, 0];
