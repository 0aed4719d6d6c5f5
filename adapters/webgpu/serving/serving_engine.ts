/**
 * Opens the whole serving engine from flags-level options: device, model (checkpoint directory or
 * preset), forward engine sized for the batch, step-time model when a TBT SLO sets the budget,
 * and the continuous-batching loop. Used by the `webgpu` backend, `tokentrace serve` and the
 * default bench.
 *
 * @module
 */
import { requestEngineDevice } from "../step/device.ts";
import type { AttentionMode } from "../step/engine_options.ts";
import { EngineLoop } from "./engine_loop.ts";
import { DEFAULT_MAX_STEPS_IN_FLIGHT } from "./step_queue.ts";
import { ForwardEngine } from "../step/forward.ts";
import { dtypeBytes } from "../step/gpu_buffers.ts";
import type { StorageDtype } from "../kernels/geometry.ts";
import { openModel } from "../model/model_source.ts";
import { presetsFitting } from "../model/presets.ts";
import type { Policy } from "./scheduler.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import {
  budgetForTbt,
  measureStepTimeModel,
  type StepTimeModel,
} from "./step_time_model.ts";
import type { WeightSource } from "../model/weights.ts";

/** Options of {@link openServingEngine}; every field has a default. */
export interface ServingEngineOptions {
  /** Checkpoint directory or preset name (default `tiny`). */
  model?: string;
  /** Seed of preset weights (default 0). */
  seed?: number;
  /** Storage dtype (default f16 where the adapter has shader-f16). */
  dtype?: StorageDtype;
  /** Scheduling policy (default `sarathi`). */
  policy?: Policy;
  /** Hybrid attention dispatch (default `fused`). */
  attention?: AttentionMode;
  /** Query tokens per step (default 512, or derived from `tbtSloMs`). */
  tokenBudget?: number;
  /** Derive the token budget from this TBT SLO (ms) and the measured step-time model. */
  tbtSloMs?: number;
  /** Sequences running at once (default 16). */
  maxSeqs?: number;
  /** Longest sequence (default min(max_position_embeddings, 2048)). */
  maxContext?: number;
  /** KV blocks of 16 tokens (default maxSeqs full contexts, capped by the binding limit). */
  kvBlocks?: number;
  /** Steps in flight (default 4). */
  stepsInFlight?: number;
  /** Waiting requests before refusing more (default 1024). */
  maxWaiting?: number;
  /** Prefix caching (default true). */
  prefixCaching?: boolean;
  /** Run clock (default the loop's own). */
  nowNs?: () => bigint;
}

/** What the engine says about itself (stored with a run as backend info). */
export interface EngineInfo {
  /** Model name (the preset's or checkpoint's `WeightSource.name`). */
  model: string;
  /** Adapter description, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe (...)`. */
  adapter: string;
  /** Whether the adapter is a software fallback (the CPU). */
  softwareAdapter: boolean;
  /** Storage dtype of weights and KV cache. */
  dtype: StorageDtype;
  /** Scheduling policy. */
  policy: Policy;
  /** Hybrid attention dispatch. */
  attention: AttentionMode;
  /** Query tokens per step (derived from `tbtSloMs` when given). */
  tokenBudget: number;
  /** Sequences running at once. */
  maxSeqs: number;
  /** Longest sequence, tokens. */
  maxContext: number;
  /** KV blocks of 16 tokens. */
  kvBlocks: number;
  /** Steps submitted ahead of their readback. */
  stepsInFlight: number;
  /** Whether KV blocks of equal prompt prefixes are reused. */
  prefixCaching: boolean;
  /** Whether the device has `timestamp-query` (GPU step times). */
  timestampQueries: boolean;
  /** Vocabulary size of the model. */
  vocab: number;
  /** Token ids that end a generation. */
  eosTokenIds: number[];
  /** The measured step-time model, when the token budget was derived from `tbtSloMs`. */
  stepTimeModel?: StepTimeModel;
  /** The TBT SLO (ms) the token budget was derived from, if any. */
  tbtSloMs?: number;
  /** Seconds from the start of `openServingEngine` to ready (device, weights, step-time model). */
  loadSeconds: number;
}

/** A running serving engine. */
export interface ServingEngine {
  /** The model's weights and config. */
  source: WeightSource;
  /** The forward pass on the GPU. */
  forward: ForwardEngine;
  /** The continuous-batching loop requests are submitted to. */
  loop: EngineLoop;
  /** What the engine says about itself. */
  info: EngineInfo;
  /** Stops the loop and frees the GPU resources. */
  close(): Promise<void>;
}

/**
 * Opens the engine (model upload can take seconds for the larger presets).
 *
 * @example
 * ```ts
 * import { openServingEngine } from "./serving_engine.ts";
 * const e = await openServingEngine({ model: "tiny", maxSeqs: 4, tokenBudget: 32, maxContext: 64 });
 * console.log(e.info.kvBlocks); // 16
 * await e.close();
 * ```
 */
export async function openServingEngine(
  opts: ServingEngineOptions = {},
): Promise<ServingEngine> {
  const t0 = performance.now();
  const gpu = await requestEngineDevice();
  const source = await openModel(opts.model ?? "tiny", opts.seed ?? 0);
  const cfg = source.config;
  const maxSeqs = opts.maxSeqs ?? 16;
  const maxContext = opts.maxContext ??
    Math.min(cfg.maxPositionEmbeddings, 2048);
  const dtype = opts.dtype ?? (gpu.f16 ? "f16" : "f32");
  // Each layer's KV cache is its own binding (forward.ts): a block's bytes in one layer.
  const blockBytes = 2 * cfg.numKvHeads * PAGE_SIZE * cfg.headDim *
    dtypeBytes(dtype);
  const fitBinding = Math.floor(
    gpu.limits.maxStorageBufferBindingSize / blockBytes,
  );
  const kvBlocks = opts.kvBlocks ??
    Math.min(maxSeqs * Math.ceil(maxContext / PAGE_SIZE), fitBinding);
  const stepsInFlight = opts.stepsInFlight ?? 4;
  const maxTokens = Math.max(opts.tokenBudget ?? 512, maxSeqs);
  let forward: ForwardEngine;
  try {
    forward = await ForwardEngine.create(gpu, source, {
      dtype,
      maxTokens,
      maxSeqs,
      maxContext,
      numPages: kvBlocks,
      attention: opts.attention,
      // Room for the loop's deepest queue of short steps (step_queue.ts).
      logSize: (Math.max(stepsInFlight, DEFAULT_MAX_STEPS_IN_FLIGHT) + 2) *
        maxSeqs,
    });
  } catch (e) {
    gpu.device.destroy();
    const msg = (e as Error).message;
    if (!msg.includes("maxStorageBufferBindingSize")) throw e;
    const limit = gpu.limits.maxStorageBufferBindingSize;
    throw new Error(
      `${msg}: model ${source.name} does not fit the adapter ${gpu.description}${
        gpu.isFallback ? " (a software adapter: the CPU, no GPU)" : ""
      }. Use a GPU, or a preset that fits ${
        Math.round(limit / 2 ** 20)
      } MiB bindings in ${dtype}: ${
        presetsFitting(limit, dtypeBytes(dtype)).join(", ")
      }`,
    );
  }
  let tokenBudget = maxTokens;
  let stepTimeModel: StepTimeModel | undefined;
  if (opts.tbtSloMs !== undefined) {
    stepTimeModel = await measureStepTimeModel(forward);
    tokenBudget = budgetForTbt(
      stepTimeModel,
      opts.tbtSloMs,
      maxSeqs,
      maxTokens,
    );
  }
  const policy = opts.policy ?? "sarathi";
  const prefixCaching = opts.prefixCaching ?? true;
  const loop = await EngineLoop.create(forward, {
    policy,
    tokenBudget,
    stepsInFlight,
    maxWaiting: opts.maxWaiting,
    prefixCaching,
    nowNs: opts.nowNs,
  });
  const info: EngineInfo = {
    model: source.name,
    adapter: gpu.description,
    softwareAdapter: gpu.isFallback,
    dtype,
    policy,
    attention: forward.attention,
    tokenBudget,
    maxSeqs,
    maxContext,
    kvBlocks,
    stepsInFlight,
    prefixCaching,
    timestampQueries: gpu.timestamps,
    vocab: cfg.vocab,
    eosTokenIds: cfg.eosTokenIds,
    stepTimeModel,
    tbtSloMs: opts.tbtSloMs,
    loadSeconds: Math.round(performance.now() - t0) / 1000,
  };
  return {
    source,
    forward,
    loop,
    info,
    async close() {
      await loop.close();
      forward.destroy();
      gpu.device.destroy();
    },
  };
}
