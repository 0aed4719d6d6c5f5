/**
 * The forward step on the GPU: weights, KV cache and activations of one model, and the encoding
 * of one hybrid step (prefill chunks + decode tokens) into ONE compute pass.
 *
 * Per step, with T query tokens and R sample rows (shape letters in config.ts):
 * embed, then per layer [rmsnorm, qkv, rope_kv, attention (+ merge of KV splits), o (+residual),
 * rmsnorm, gate_up, down (silu-mul input, +residual)], then rmsnorm of the R sample rows, LM head,
 * sample. With at most GEMV_MAXM rows each rmsnorm is fused into the GEMV after it (6-7 L + 3
 * dispatches; one row runs linear_gemv_s, and a step of one query token runs qkv, rope_kv and
 * the cache write as one linear_gemv_rope where the qkv geometry fits: 5-6 L + 3), else 8-9 L
 * + 4, plus one linear_reduce after o and after down where they are split over K (tiledSplit >
 * 1). Bind groups and uniforms are built once; a step only writes its metadata.
 *
 * The engine holds the KV cache's memory but hands out no pages: whoever drives it names the
 * pages of every sequence, taken from one `BlockManager` (the engine loop's; a check or a
 * benchmark stepping the engine directly takes them from an idle loop's, or uses a fresh engine's
 * pages from 0). Just over ~400 lines: `create` sizes every buffer and `encodeStep` is the one
 * pass whose dispatch order is the model; the bind groups are already apart (_forward_bind.ts).
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import { ropeInvFreq } from "../model/config.ts";
import type { EngineDevice } from "./device.ts";
import { readBuffer, storageBuffer, uploadF32 } from "./gpu_buffers.ts";
import {
  GEMV_SHAPES,
  type GemvShape,
  GEOMETRY,
  type Geometry,
  type Grid,
  grids,
  type HybridShape,
  hybridShape,
  splitPartials,
  type StorageDtype,
  tiledSplit,
} from "../kernels/geometry.ts";
import {
  type AttentionCaps,
  attentionCaps,
  type AttentionSplit,
  attentionWords,
  planAttention,
} from "./attention_plan.ts";
import {
  compileGemvRope,
  compileKernels,
  compileSmallGemv,
  dispatch,
  type Kernel,
  type Kernels,
} from "../kernels/pipelines.ts";
import {
  type AttentionMode,
  type EngineOptions,
  type LinearChoice,
  resolveEngineOptions,
} from "./engine_options.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import {
  bindModel,
  type LayerGroups,
  type ModelGlobals,
} from "./_forward_bind.ts";
import { HDR, metaWords, packStep } from "../batch/step_batch.ts";

/** Per-dispatch timestamps of one step (ForwardEngine.encodeStep's `perDispatch`). */
export interface DispatchStamps {
  /** Timestamp queries: two per dispatch. */
  querySet: GPUQuerySet;
  /** Filled by encodeStep: the name of dispatch i (a GEMV's with its layer). */
  names: string[];
}
import type { PackedStep, StepBatch, StepLimits } from "../batch/step_batch.ts";
import type { WeightSource } from "../model/weights.ts";

/** One model on one device, ready to run hybrid steps. */
export class ForwardEngine {
  private constructor(
    /** The device the engine runs on. */
    readonly gpu: EngineDevice,
    /** The model's config. */
    readonly config: ModelConfig,
    /** Storage dtype of weights and KV cache. */
    readonly dtype: StorageDtype,
    /** Capacities every step must fit. */
    readonly limits: StepLimits,
    /** Hybrid attention dispatch: one fused dispatch or the two-dispatch baseline. */
    readonly attention: AttentionMode,
    /**
     * Launch geometry of the linear kernels, whether large M runs linear_tiled_h, and each
     * layer's geometry of the one-row GEMV.
     */
    readonly linear: LinearChoice,
    /** How attention tiles the heads, and the work-list capacities. */
    private readonly attn: {
      shape: HybridShape;
      caps: AttentionCaps;
      split: AttentionSplit;
      metaTotal: number;
    },
    private readonly kernels: Kernels,
    /** linear_gemv_s compiled with each layer's geometry (linear.gemvS). */
    private readonly gemvS: Record<GemvShape, Kernel>,
    /** linear_gemv_rope with the qkv layer's geometry, or null (EngineOptions.fuseRope). */
    private readonly gemvRope: Kernel | null,
    private readonly buffers: Record<string, GPUBuffer>,
    private readonly owned: GPUBuffer[],
    private readonly layers: LayerGroups[],
    private readonly globals: ModelGlobals,
  ) {}

  /**
   * Uploads the model from `src` (tensor by tensor) and builds every bind group.
   *
   * @example
   * ```ts
   * import { requestEngineDevice } from "./device.ts";
   * import { ForwardEngine } from "./forward.ts";
   * import { presetSource } from "../model/presets.ts";
   * const gpu = await requestEngineDevice();
   * const engine = await ForwardEngine.create(gpu, presetSource("tiny"), { maxTokens: 16 });
   * engine.submitStep({ seqs: [{ slot: 0, start: 0, tokens: [1, 2, 3], pages: [0], sample: { temperature: 0, topP: 1, seed: 0 } }], logBase: 0 });
   * console.log((await engine.readTokenLog(0, 1)).length); // 1
   * engine.destroy();
   * ```
   */
  static async create(
    gpu: EngineDevice,
    src: WeightSource,
    opts: EngineOptions = {},
  ): Promise<ForwardEngine> {
    const cfg = src.config;
    const { hidden: C, numHeads: H, numKvHeads: G, headDim: D } = cfg;
    const { intermediate: I, vocab: V } = cfg;
    const resolved = resolveEngineOptions(gpu, src, opts);
    const { dtype, limits, attention, targetItems, maxItemKeys, linear } =
      resolved;
    const { minSplitKeys } = resolved;
    const shape = hybridShape(H, G, D);
    const split = { targetItems, maxItemKeys, minSplitKeys };
    const caps = attentionCaps(H, G, shape, limits, split);
    const metaTotal = metaWords(limits) + attentionWords(caps);
    const { maxTokens, maxSeqs, numPages } = limits;
    const device = gpu.device;
    const maxB = gpu.limits.maxStorageBufferBindingSize;
    const kernels = await compileKernels(device, dtype, D, linear.geo);
    const gemvS = await compileLayerGemvs(gpu, dtype, D, linear, kernels);
    const gemvRope = resolved.fuseRope
      ? await compileGemvRope(device, dtype, D, linear.gemvS.qkv)
      : null;
    const QKV = (H + 2 * G) * D;
    const f32 = 4;
    // One KV buffer per layer: each binds on its own, so the cache is bounded by the adapter's
    // binding size per layer (2 GiB on the H200: 65,536 pages at G 8, D 64, f16), not in all.
    const kvLayer = numPages * 2 * G * PAGE_SIZE * D; // elements per layer
    if (kvLayer >= 2 ** 32) {
      throw new Error(
        `KV cache layer of ${kvLayer} elements (${numPages} pages) exceeds u32 indexing; expected < 2^32, lower numPages`,
      );
    }
    const owned: GPUBuffer[] = [];
    const b: Record<string, GPUBuffer> = {
      meta: storageBuffer(
        device,
        "meta [metaWords + work list + merge list] u32",
        metaTotal * 4,
        maxB,
      ),
      part: storageBuffer(
        device,
        "attention partials [partialRows, D + 2] f32",
        caps.partialRows * (D + 2) * f32,
        maxB,
      ),
      lastTok: storageBuffer(
        device,
        "last_tok [maxSeqs] u32",
        maxSeqs * 4,
        maxB,
      ),
      tokenLog: storageBuffer(
        device,
        "token_log [logSize] u32",
        limits.logSize * 4,
        maxB,
      ),
      logprobLog: storageBuffer(
        device,
        "logprob_log [logSize] f32",
        limits.logSize * 4,
        maxB,
      ),
      x: storageBuffer(device, "x [T, C] f32", maxTokens * C * f32, maxB),
      lpart: storageBuffer(
        device,
        "split-K partials [S, T, C] f32",
        splitPartials(maxTokens, C, [H * D, I], linear.geo) * f32,
        maxB,
      ),
      xn: storageBuffer(device, "xn [T, C] f32", maxTokens * C * f32, maxB),
      qkv: storageBuffer(
        device,
        "qkv [T, (H+2G)D] f32",
        maxTokens * QKV * f32,
        maxB,
      ),
      attn: storageBuffer(
        device,
        "attn [T, H D] f32",
        maxTokens * H * D * f32,
        maxB,
      ),
      gu: storageBuffer(
        device,
        "gate_up [T, 2I] f32",
        maxTokens * 2 * I * f32,
        maxB,
      ),
      logits: storageBuffer(
        device,
        "logits [R, V] f32",
        maxSeqs * V * f32,
        maxB,
      ),
      samplePart: storageBuffer(
        device,
        "sample block partials [R, NB, 4] f32",
        maxSeqs * Math.ceil(V / GEOMETRY.SAMPLE_BLOCK) * 4 * f32,
        maxB,
      ),
      invFreq: uploadF32(
        device,
        "inv_freq [D/2] f32",
        Float32Array.from(ropeInvFreq(D, cfg.ropeTheta, cfg.ropeScaling)),
        maxB,
      ),
      dummy: storageBuffer(device, "no-bias [4] f32", 16, maxB),
    };
    const { layers, globals } = await bindModel({
      gpu,
      src,
      dtype,
      kernels,
      gemvRope,
      b,
      shape,
      kvLayer,
      owned,
      l2Touch: resolved.l2Prefetch,
    });
    await device.queue.onSubmittedWorkDone();
    return new ForwardEngine(
      gpu,
      cfg,
      dtype,
      limits,
      attention,
      linear,
      { shape, caps, split, metaTotal },
      kernels,
      gemvS,
      gemvRope,
      b,
      owned,
      layers,
      globals,
    );
  }

  /**
   * Validates and packs `batch`, plans its attention work list and queues the write of the
   * metadata words it uses (ordered before any command buffer submitted after this call).
   */
  prepareStep(batch: StepBatch): PackedStep {
    const packed = packStep(batch, this.limits);
    const meta = new Uint32Array(this.attn.metaTotal);
    meta.set(packed.meta);
    const plan = planAttention(
      meta,
      this.limits,
      this.config.numKvHeads,
      this.attn.shape,
      this.attn.caps,
      this.attn.split,
    );
    // Only the words the step uses: the packed step, its work items and its merge entries (the
    // lists are sized for the largest step: ~1.4 MB at 2,048 tokens and 256 sequences, against
    // ~0.1 MB for a batch-1 decode with those limits).
    const queue = this.gpu.device.queue;
    const work = meta[HDR.WORK] + plan.items * GEOMETRY.WORK_WORDS;
    queue.writeBuffer(this.buffers.meta, 0, meta, 0, work);
    if (plan.merges > 0) {
      const at = meta[HDR.MERGE];
      const n = plan.merges * GEOMETRY.MERGE_WORDS;
      queue.writeBuffer(this.buffers.meta, at * 4, meta, at, n);
    }
    return { ...packed, meta, attention: plan };
  }

  /** Validates and packs `batch`, writes its metadata and submits the step; returns the packing. */
  submitStep(batch: StepBatch): PackedStep {
    const packed = this.prepareStep(batch);
    const device = this.gpu.device;
    const enc = device.createCommandEncoder({ label: "step" });
    this.encodeStep(enc, packed);
    device.queue.submit([enc.finish()]);
    return packed;
  }

  /**
   * Records the dispatches of a packed step into ONE compute pass of `enc`; with `perDispatch`
   * (a benchmark's attribution of the step's GPU time) each dispatch into a pass of its own,
   * timestamped at 2 i and 2 i + 1 of its query set, its name pushed to `names`.
   */
  encodeStep(
    enc: GPUCommandEncoder,
    packed: PackedStep,
    timestampWrites?: GPUComputePassTimestampWrites,
    perDispatch?: DispatchStamps,
  ): void {
    const {
      hidden: C,
      numHeads: H,
      numKvHeads: G,
      headDim: D,
      intermediate: I,
    } = this.config;
    const QKV = (H + 2 * G) * D;
    const T = packed.numTokens;
    const R = packed.numRows;
    const k = this.kernels;
    const geo = this.linear.geo;
    const tiled = this.linear.tiledF16 ? k.linear_tiled_h! : k.linear_tiled;
    // Linear kernels by rows: the few-rows GEMV (linear_gemv_s, the layer's own geometry), the
    // GEMV, the tiled matmul.
    const gemv = (M: number, layer: GemvShape): [Kernel, string] => [
      M <= geo.GEMV_SMB ? this.gemvS[layer] : k.linear_gemv,
      layer,
    ];
    const ggrid = (M: number, N: number, layer: GemvShape) =>
      M <= geo.GEMV_SMB
        ? grids.gemvS(N, this.linear.gemvS[layer], M)
        : grids.gemv(N, geo, M);
    // Past GEMV_MAXM rows only narrow layers (N <= GEMV_NARROW_N: o, down, qkv) stay on the
    // GEMV, up to GEMV_NARROW_M rows: the tiled matmul has too few workgroups there.
    const onGemv = (M: number, N: number) =>
      M <= geo.GEMV_MAXM ||
      (M <= geo.GEMV_NARROW_M && N <= geo.GEMV_NARROW_N);
    // o and down (N = C, K = H D or I): the GEMV, or the tiled matmul split over K when its tiles
    // alone would be too few (tiledSplit > 1), then linear_reduce; else the tiled matmul.
    const narrow = (
      layer: GemvShape,
      M: number,
      K: number,
      plain: GPUBindGroup,
      split: GPUBindGroup,
      reduce: GPUBindGroup,
    ) => {
      if (onGemv(M, C)) {
        disp(gemv(M, layer), plain, ggrid(M, C, layer));
      } else if (tiledSplit(M, C, K, geo) > 1) {
        disp(tiled, split, grids.tiled(M, C, geo, K));
        disp(k.linear_reduce, reduce, grids.reduce(M, C));
      } else disp(tiled, plain, grids.tiled(M, C, geo));
    };
    const pass = perDispatch ? null : enc.beginComputePass({
      label: `step T=${T} R=${R}`,
      timestampWrites,
    });
    // One dispatch (a GEMV as [kernel, layer]), into the step's pass or a pass of its own.
    const disp = (
      kn: Kernel | [Kernel, string],
      group: GPUBindGroup,
      grid: Grid,
    ) => {
      const [kernel, tag] = Array.isArray(kn) ? kn : [kn, ""];
      if (pass) return dispatch(pass, kernel, group, grid);
      const i = perDispatch!.names.length;
      if (2 * i + 2 > perDispatch!.querySet.count) {
        throw new Error(
          `encodeStep: the step has more than ${
            perDispatch!.querySet.count / 2
          } dispatches, more than the query set of ${
            perDispatch!.querySet.count
          } timestamps holds`,
        );
      }
      const own = enc.beginComputePass({
        label: `${kernel.name} ${tag}`,
        timestampWrites: {
          querySet: perDispatch!.querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      dispatch(own, kernel, group, grid);
      own.end();
      perDispatch!.names.push(tag ? `${kernel.name} ${tag}` : kernel.name);
    };
    disp(k.embed, this.globals.embed, grids.embed(T, C));
    const plan = packed.attention;
    if (!plan) {
      throw new Error(
        "encodeStep: the step has no attention plan (use prepareStep)",
      );
    }
    const serial = this.attention === "serial" && plan.prefillItems > 0 &&
      plan.prefillItems < plan.items;
    // On the GEMV the norms are fused into it (NORM); else rmsnorm + tiled.
    // One query token: qkv, rope and the cache write in one dispatch where the engine has it.
    const fused = T === 1 && this.gemvRope !== null;
    for (const [l, g] of this.layers.entries()) {
      if (fused) {
        disp([this.gemvRope!, "qkv"], g.qkvRope!, ggrid(T, QKV, "qkv"));
      } else if (onGemv(T, QKV)) {
        disp(gemv(T, "qkv"), g.qkvNorm, ggrid(T, QKV, "qkv"));
      } else {
        disp(k.rmsnorm, g.norm1, grids.rmsnorm(T));
        disp(tiled, g.qkv, grids.tiled(T, QKV, geo));
      }
      if (!fused) disp(k.rope_kv, g.rope, grids.ropeKv(T, H, G, D));
      if (serial) {
        const a = grids.attnHybrid(plan.prefillItems);
        disp(k.attention_hybrid, g.attn, a);
        const d = grids.attnHybrid(plan.items - plan.prefillItems);
        disp(k.attention_hybrid, g.attnDecode, d);
      } else {
        disp(
          k.attention_hybrid,
          g.attn,
          grids.attnHybrid(plan.items),
        );
      }
      // o's weights into the L2 beside attention (the next barrier waits for both).
      if (g.oTouch && onGemv(T, C)) {
        disp(k.l2_touch, g.oTouch.group, g.oTouch.grid);
      }
      if (plan.merges > 0) {
        disp(
          k.attention_merge,
          g.merge,
          grids.attnMerge(plan.merges),
        );
      }
      narrow("o", T, H * D, g.o, g.oSplit, g.oReduce);
      if (onGemv(T, 2 * I)) {
        const gu = ggrid(T, 2 * I, "gateUp");
        disp(gemv(T, "gateUp"), g.gateUpNorm, gu);
      } else {
        disp(k.rmsnorm, g.norm2, grids.rmsnorm(T));
        disp(tiled, g.gateUp, grids.tiled(T, 2 * I, geo));
      }
      narrow("down", T, I, g.down, g.downSplit, g.downReduce);
      // The next layer's qkv weights into the L2 beside down.
      const next = this.layers[l + 1]?.qkvTouch;
      if (next && onGemv(T, QKV)) disp(k.l2_touch, next.group, next.grid);
    }
    if (R > 0) {
      const V = this.config.vocab;
      if (onGemv(R, V)) {
        const head = ggrid(R, V, "lmHead");
        disp(gemv(R, "lmHead"), this.globals.lmHeadNorm, head);
      } else {
        disp(k.rmsnorm, this.globals.finalNorm, grids.rmsnorm(R));
        disp(tiled, this.globals.lmHead, grids.tiled(R, V, geo));
      }
      disp(
        k.sample_blocks,
        this.globals.sampleBlocks,
        grids.sampleBlocks(V, R),
      );
      disp(k.sample, this.globals.sample, grids.sample(R));
    }
    pass?.end();
  }

  /** Reads the LM-head logits of the last step's R sample rows: [R, V] f32. */
  async readLogits(rows: number): Promise<Float32Array> {
    const V = this.config.vocab;
    return new Float32Array(
      await readBuffer(this.gpu.device, this.buffers.logits, 0, rows * V * 4),
    );
  }

  /** Reads `count` entries of the sampled-token log from `start`. */
  async readTokenLog(start: number, count: number): Promise<Uint32Array> {
    return new Uint32Array(
      await readBuffer(
        this.gpu.device,
        this.buffers.tokenLog,
        start * 4,
        count * 4,
      ),
    );
  }

  /** The token log buffer ([logSize] u32), for batched readback by the generator. */
  get tokenLogBuffer(): GPUBuffer {
    return this.buffers.tokenLog;
  }

  /** The log-probabilities of the logged tokens ([logSize] f32, raw logits, beside token_log). */
  get logprobLogBuffer(): GPUBuffer {
    return this.buffers.logprobLog;
  }

  /** Frees the engine's GPU buffers (the device stays). */
  destroy(): void {
    for (const buf of Object.values(this.buffers)) buf.destroy();
    for (const buf of this.owned) buf.destroy();
  }
}

/** The constants a linear_gemv_s compilation depends on, as a cache key. */
const gemvSKey = (g: Geometry) =>
  `${g.GEMV_SROWS} ${g.GEMV_SLANES} ${g.GEMV_SRPT} ${g.GEMV_SMB} ${g.GEMV_SLD} ${g.GEMV_SROT}`;

/**
 * linear_gemv_s for each layer: the engine's own where the layer has no geometry of its own,
 * else compiled once per distinct geometry on the same bind group layout.
 */
async function compileLayerGemvs(
  gpu: EngineDevice,
  dtype: StorageDtype,
  D: number,
  linear: LinearChoice,
  kernels: Kernels,
): Promise<Record<GemvShape, Kernel>> {
  const byGeo = new Map<string, Kernel>();
  const out = {} as Record<GemvShape, Kernel>;
  for (const layer of GEMV_SHAPES) {
    const g = linear.gemvS[layer];
    const key = gemvSKey(g);
    const own = linear.geo;
    if (g === own || key === gemvSKey(own)) {
      out[layer] = kernels.linear_gemv_s;
      continue;
    }
    if (!byGeo.has(key)) {
      byGeo.set(
        key,
        await compileSmallGemv(gpu.device, dtype, D, g, kernels.linear_gemv_s),
      );
    }
    out[layer] = byGeo.get(key)!;
  }
  return out;
}
