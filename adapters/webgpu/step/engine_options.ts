/**
 * Sizing and numerics of a ForwardEngine: the options, their defaults, and the checks that refuse
 * models or sizes the kernels do not support.
 *
 * @module
 */
import type { EngineDevice } from "./device.ts";
import {
  checkGemvGeometry,
  checkTileGeometry,
  GEMV_SHAPES,
  type GemvShape,
  gemvSVariant,
  GEOMETRY,
  type Geometry,
  hybridShape,
  MAX_GRID_DIM,
  ropeGemvFits,
  smallGemvGeometry,
  type StorageDtype,
  TILE_VARIANTS,
} from "../kernels/geometry.ts";
import {
  checkLoopBudget,
  loopPasses,
  maxHybridKeys,
} from "../kernels/loop_passes.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import type { StepLimits } from "../batch/step_batch.ts";
import type { WeightSource } from "../model/weights.ts";

/** Sizing and numerics of a {@link ForwardEngine}. */
export interface EngineOptions {
  /** Query tokens per step, the token budget (default 128). */
  maxTokens?: number;
  /** Sequences per step and persistent slots (default 8). */
  maxSeqs?: number;
  /** Longest sequence in tokens (default min(max_position_embeddings, 2048)). */
  maxContext?: number;
  /** KV pages of PAGE_SIZE tokens (default enough for maxSeqs full sequences). */
  numPages?: number;
  /** Storage of weights and KV (default f16 when the device has `shader-f16`, else f32). */
  dtype?: StorageDtype;
  /** Entries of the sampled-token log (default 4096). */
  logSize?: number;
  /**
   * Hybrid attention: `fused` (prefill tiles and decode splits in ONE dispatch, default) or
   * `serial` (the two-dispatch baseline: prefill items, then decode items; same kernel).
   */
  attention?: AttentionMode;
  /** Work items splitting aims at per step (default 4 on a software adapter, else 512). */
  attnTargetItems?: number;
  /**
   * Fewest keys of a split range (a multiple of the key block; default the key block): tiles
   * over fewer keys run unsplit, with no merge pass.
   */
  attnMinSplitKeys?: number;
  /**
   * Linear kernels: a launch geometry over {@link GEOMETRY}, and `tiledF16` to run rows past
   * GEMV_MB through linear_tiled_h.wgsl (f16 arithmetic per TILE_K slice, f32 across slices; f16
   * storage only). Defaults: on a GPU the `64x128x16 8x8 sw` tiles and f16 arithmetic with f16
   * storage (fastest on the H200); on a software adapter GEOMETRY and f32 arithmetic.
   * `gemvS`: a geometry of its own over `geometry`, per layer, for the one-row GEMV
   * (linear_gemv_s: GEMV_SROWS, GEMV_SLANES, GEMV_SRPT); layers not named use `geometry`.
   * Default with neither `geometry` nor `gemvS` given: on a GPU with f16 storage
   * {@link GPU_GEMV_S} (the fastest per layer on the H200), else `geometry`.
   */
  linear?: {
    geometry?: Partial<Geometry>;
    tiledF16?: boolean;
    gemvS?: Partial<Record<GemvShape, Partial<Geometry>>>;
  };
  /**
   * Steps of one query token run the qkv GEMV with rope_kv's rotation and KV-cache write in
   * its epilogue (linear_gemv_rope: one dispatch fewer per layer) where the qkv layer's
   * one-row geometry fits (geometry.ts ropeGemvFits; default true).
   */
  fuseRope?: boolean;
  /**
   * Steps on the GEMV warm the GPU's L2 cache with the next small layer's weights while a
   * latency-bound dispatch runs: o's during decode attention, the next layer's qkv during
   * down (l2_touch.wgsl, no barrier between the two; outputs unchanged). Default false: on
   * the H200 it made the batch-1 GPU step 0.025 ms slower (docs/perf.md, engine14o); kept as a
   * benchmark variant (`bench/loop_queue.ts --l2-prefetch`).
   */
  l2Prefetch?: boolean;
}

/**
 * The one-row GEMV geometry per layer on a GPU with f16 storage, by GEMV_S_VARIANTS name: the
 * fastest at one row for each layer of llama-3.2-1b shapes on the H200 (docs/perf.md, engine14g
 * call 2 and the sixth session's merged main: qkv 9.0, o 7.5, gate_up 26.6, down 18.0, LM head
 * 160.4 us), what bench/device_run.ts passed as `linear.gemvS` from its own sweep.
 */
export const GPU_GEMV_S: Readonly<Record<GemvShape, string>> = {
  qkv: "s r8 l32 t",
  o: "s r4 l64",
  gateUp: "s r32 l8 t",
  down: "s r2 l128 c4",
  lmHead: "s r32 l8 t",
};

/** Attention dispatch modes. */
export const ATTENTION_MODES = ["fused", "serial"] as const;
/** How hybrid attention is dispatched. */
export type AttentionMode = typeof ATTENTION_MODES[number];

/** Resolved options of a ForwardEngine. */
export interface ResolvedEngineOptions {
  /** Storage dtype of weights and KV cache. */
  dtype: StorageDtype;
  /** Buffer capacities of a step. */
  limits: StepLimits;
  /** Hybrid attention dispatch. */
  attention: AttentionMode;
  /** Work items attention splitting aims at per step (`attnTargetItems`). */
  targetItems: number;
  /** Most keys per attention work item: bounded by the adapter's loop budget, else Infinity. */
  maxItemKeys: number;
  /** Fewest keys of a split range (`attnMinSplitKeys`, default the key block). */
  minSplitKeys: number;
  /** Whether one-token steps run linear_gemv_rope (`fuseRope`, where the qkv geometry fits). */
  fuseRope: boolean;
  /** Whether GEMV steps prefetch o's and the next qkv's weights into the L2 (`l2Prefetch`). */
  l2Prefetch: boolean;
  /**
   * The linear kernels' geometry (checked), whether large M uses f16 arithmetic, and each
   * layer's geometry of linear_gemv_s (`geo` where none was given).
   */
  linear: LinearChoice;
}

/** The linear kernels of an engine (ResolvedEngineOptions.linear). */
export interface LinearChoice {
  /** The launch geometry of the linear kernels (checked). */
  geo: Geometry;
  /** Whether rows past the GEMV run linear_tiled_h (f16 arithmetic). */
  tiledF16: boolean;
  /** Each layer's geometry of linear_gemv_s (`geo` itself where it has none of its own). */
  gemvS: Record<GemvShape, Geometry>;
}

/**
 * Applies the defaults of {@link EngineOptions} and refuses unsupported models and sizes.
 *
 * @example
 * ```ts
 * import { resolveEngineOptions } from "./engine_options.ts";
 * import { presetSource } from "../model/presets.ts";
 * import { requestEngineDevice } from "./device.ts";
 * const gpu = await requestEngineDevice();
 * const { limits } = resolveEngineOptions(gpu, presetSource("tiny"), { maxSeqs: 2, maxContext: 64 });
 * console.log(limits.numPages); // 8
 * gpu.device.destroy();
 * ```
 */
export function resolveEngineOptions(
  gpu: EngineDevice,
  src: WeightSource,
  opts: EngineOptions,
): ResolvedEngineOptions {
  const cfg = src.config;
  const { hidden: C, headDim: D } = cfg;
  const { intermediate: I, vocab: V } = cfg;
  const dtype = opts.dtype ?? (gpu.f16 ? "f16" : "f32");
  if (dtype === "f16" && !gpu.f16) {
    throw new Error(
      `Storage dtype f16: the adapter ${gpu.description} lacks shader-f16`,
    );
  }
  // Linear layers read weights 8 at a time (W8); attention reads head vectors as vec4.
  const H = cfg.numHeads;
  for (
    const [name, v, mult] of [
      ["hidden_size", C, 8],
      ["intermediate_size", I, 8],
      ["num_attention_heads * head_dim", H * D, 8],
      ["head_dim", D, 4],
    ] as const
  ) {
    if (v % mult !== 0) {
      throw new Error(
        `Model ${src.name}: ${name} must be a multiple of ${mult}, got ${v}`,
      );
    }
  }
  const maxV = GEOMETRY.SAMPLE_WG * GEOMETRY.SAMPLE_BLOCK;
  if (V > maxV) {
    throw new Error(
      `Model ${src.name}: vocab_size must be <= ${maxV} (sample.wgsl merges ${GEOMETRY.SAMPLE_WG} blocks of ${GEOMETRY.SAMPLE_BLOCK}), got ${V}`,
    );
  }
  if (D > GEOMETRY.ATTN_MAX_D) {
    throw new Error(
      `Model ${src.name}: head_dim must be <= ${GEOMETRY.ATTN_MAX_D}, got ${D}`,
    );
  }
  const maxTokens = opts.maxTokens ?? 128;
  const maxSeqs = opts.maxSeqs ?? 8;
  const maxContext = opts.maxContext ??
    Math.min(cfg.maxPositionEmbeddings, 2048);
  if (cfg.slidingWindow !== null && maxContext > cfg.slidingWindow) {
    throw new Error(
      `Model ${src.name}: maxContext ${maxContext} exceeds the sliding window ${cfg.slidingWindow}, which the engine does not implement`,
    );
  }
  const numPages = opts.numPages ??
    maxSeqs * Math.ceil(maxContext / PAGE_SIZE);
  const limits: StepLimits = {
    maxTokens,
    maxSeqs,
    numPages,
    vocab: V,
    maxContext,
    logSize: opts.logSize ?? 4096,
  };
  const attention = opts.attention ?? "fused";
  if (!ATTENTION_MODES.includes(attention)) {
    throw new Error(
      `Attention mode: expected one of ${
        ATTENTION_MODES.join(", ")
      }, got ${attention}`,
    );
  }
  const targetItems = opts.attnTargetItems ?? (gpu.isFallback ? 4 : 512);
  const { kb } = hybridShape(cfg.numHeads, cfg.numKvHeads, cfg.headDim);
  const minSplitKeys = opts.attnMinSplitKeys ?? kb;
  if (
    !(Number.isInteger(minSplitKeys) && minSplitKeys >= kb &&
      minSplitKeys % kb === 0)
  ) {
    throw new Error(
      `attnMinSplitKeys: expected a positive multiple of the key block ${kb}, got ${minSplitKeys}`,
    );
  }
  // Default on a GPU: the matmul measured fastest for large steps on the H200 (2026-12-03,
  // docs/perf.md engine14n, two calls): 64 x 128 tiles of 8 x 8 per invocation, staged rows
  // first with interleaved W columns (TILE_SW), f16 arithmetic with f16 storage.
  // On a software adapter: GEOMETRY and f32 arithmetic (the loop budget is checked against it).
  const gpuDefault = !gpu.isFallback;
  // The split over K only on a GPU by default: on llvmpipe's few cores it only adds work.
  const geo: Geometry = {
    ...GEOMETRY,
    ...(gpuDefault ? {} : { SPLIT_MAX: 1 }),
    ...(opts.linear?.geometry ??
      (gpuDefault ? TILE_VARIANTS["64x128x16 8x8 sw"] : {})),
  };
  checkTileGeometry(geo);
  checkGemvGeometry(geo);
  const tiledF16 = opts.linear?.tiledF16 ?? (gpuDefault && dtype === "f16");
  if (tiledF16 && dtype !== "f16") {
    throw new Error(
      `linear.tiledF16: f16 arithmetic needs f16 storage, got dtype ${dtype}`,
    );
  }
  const maxItemKeys = checkKernelLoops(gpu, src, maxContext, geo);
  checkGemvGrids(src, geo);
  const gemvS = {} as Record<GemvShape, Geometry>;
  for (const name of Object.keys(opts.linear?.gemvS ?? {})) {
    if (!(GEMV_SHAPES as readonly string[]).includes(name)) {
      throw new Error(
        `Linear option gemvS: unknown layer ${name}, expected one of ${
          GEMV_SHAPES.join(", ")
        }`,
      );
    }
  }
  const layerDefaults = gpuDefault && dtype === "f16" &&
    !opts.linear?.geometry && !opts.linear?.gemvS;
  for (const name of GEMV_SHAPES) {
    const over = opts.linear?.gemvS?.[name];
    if (over) {
      const g = { ...geo, ...over };
      checkGemvGeometry(g);
      checkShapeGemv(gpu, src, name, g);
      gemvS[name] = g;
    } else if (layerDefaults) {
      // A default the model's shapes or the adapter cannot run falls back to `geo`.
      const g = { ...geo, ...gemvSVariant(GPU_GEMV_S[name]) };
      gemvS[name] = fitsShapeGemv(gpu, src, name, g) ? g : geo;
    } else gemvS[name] = geo;
  }
  const fuseRope = (opts.fuseRope ?? true) && ropeGemvFits(gemvS.qkv, D);
  return {
    dtype,
    limits,
    attention,
    targetItems,
    maxItemKeys,
    minSplitKeys,
    fuseRope,
    l2Prefetch: opts.l2Prefetch ?? false,
    linear: { geo, tiledF16, gemvS },
  };
}

/** Inputs K and outputs N of one layer of {@link GEMV_SHAPES}. */
export function gemvShapeSize(
  cfg: WeightSource["config"],
  name: GemvShape,
): { N: number; K: number } {
  const { hidden: C, numHeads: H, numKvHeads: G, headDim: D } = cfg;
  const { intermediate: I, vocab: V } = cfg;
  return {
    qkv: { N: (H + 2 * G) * D, K: C },
    o: { N: C, K: H * D },
    gateUp: { N: 2 * I, K: C },
    down: { N: C, K: I },
    lmHead: { N: V, K: C },
  }[name];
}

/** Whether {@link checkShapeGemv} accepts a layer's geometry. */
function fitsShapeGemv(
  gpu: EngineDevice,
  src: WeightSource,
  name: GemvShape,
  geo: Geometry,
): boolean {
  try {
    checkGemvGeometry(geo);
    checkShapeGemv(gpu, src, name, geo);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a layer's own linear_gemv_s geometry whose grid or loops the adapter cannot run. */
function checkShapeGemv(
  gpu: EngineDevice,
  src: WeightSource,
  name: GemvShape,
  geo: Geometry,
): void {
  const { N, K } = gemvShapeSize(src.config, name);
  const cols = geo.GEMV_SROWS * geo.GEMV_SRPT;
  if (Math.ceil(N / cols) > MAX_GRID_DIM) {
    throw new Error(
      `Linear option gemvS.${name} for model ${src.name}: ${cols} output columns per workgroup give ${
        Math.ceil(N / cols)
      } workgroups over N = ${N}, expected at most ${MAX_GRID_DIM}; use at least ${
        Math.ceil(N / MAX_GRID_DIM)
      } columns per workgroup (GEMV_SROWS x GEMV_SRPT)`,
    );
  }
  checkLoopBudget(
    gpu.loopBudget,
    `linear_gemv.wgsl as linear_gemv_s for ${name} (model ${src.name} on ${gpu.description}, K = ${K})`,
    loopPasses.gemv(K, smallGemvGeometry(geo)),
  );
}

/** Refuses a GEMV geometry whose grid over the model's widest layer (the LM head) is too large. */
function checkGemvGrids(src: WeightSource, geo: Geometry): void {
  const V = src.config.vocab;
  for (
    const [name, rows] of [
      ["GEMV_ROWS", geo.GEMV_ROWS * geo.GEMV_RPT],
      ["GEMV_SROWS x GEMV_SRPT", geo.GEMV_SROWS * geo.GEMV_SRPT],
    ] as const
  ) {
    if (Math.ceil(V / rows) > MAX_GRID_DIM) {
      throw new Error(
        `Linear geometry ${name} ${rows} for model ${src.name}: the LM head (vocab_size ${V}) needs ${
          Math.ceil(V / rows)
        } workgroups, expected at most ${MAX_GRID_DIM}; use at least ${
          Math.ceil(V / MAX_GRID_DIM)
        } output columns per workgroup`,
      );
    }
  }
}

/**
 * Refuses a model whose kernels would need more loop passes per invocation than the adapter's
 * budget (kernels/loop_passes.ts) and returns the most keys one attention item may cover.
 */
function checkKernelLoops(
  gpu: EngineDevice,
  src: WeightSource,
  maxContext: number,
  geo: Geometry,
): number {
  const { hidden: C, headDim: D, numHeads: H, numKvHeads: G } = src.config;
  const { intermediate: I, vocab: V } = src.config;
  const budget = gpu.loopBudget;
  const at = `model ${src.name} on ${gpu.description}`;
  for (
    const [name, K] of [["hidden_size", C], ["heads * head_dim", H * D], [
      "intermediate_size",
      I,
    ]] as const
  ) {
    const what = `(${at}, ${name} K = ${K})`;
    checkLoopBudget(
      budget,
      `linear_gemv.wgsl ${what}`,
      loopPasses.gemv(K, geo),
    );
    checkLoopBudget(
      budget,
      `linear_gemv.wgsl as linear_gemv_s ${what}`,
      loopPasses.gemv(K, smallGemvGeometry(geo)),
    );
    checkLoopBudget(
      budget,
      `linear_tiled.wgsl ${what}`,
      loopPasses.tiled(K, geo),
    );
  }
  checkLoopBudget(
    budget,
    `rmsnorm.wgsl (${at}, hidden_size C = ${C})`,
    loopPasses.rmsnorm(C),
  );
  checkLoopBudget(
    budget,
    `sample.wgsl (${at}, vocab_size V = ${V})`,
    loopPasses.sample(V),
  );
  checkLoopBudget(
    budget,
    `sample_blocks.wgsl (${at})`,
    loopPasses.sampleBlocks(),
  );
  const shape = hybridShape(H, G, D);
  const maxItemKeys = maxHybridKeys(shape, D, budget);
  checkLoopBudget(
    budget,
    `attention_merge.wgsl (${at}, maxContext ${maxContext}, head_dim ${D})`,
    loopPasses.merge(Math.ceil(maxContext / shape.kb), D),
  );
  return maxItemKeys;
}
