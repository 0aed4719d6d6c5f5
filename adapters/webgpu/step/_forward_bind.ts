/**
 * The bind groups of a ForwardEngine: the uniform parameters of every dispatch, the weights
 * uploaded layer by layer, one KV-cache buffer per layer, and one bind group per (layer,
 * dispatch) built once, so a step only writes its metadata (forward.ts encodes the dispatches).
 *
 * @module
 */
import type { EngineDevice } from "./device.ts";
import {
  dtypeBytes,
  ParamArena,
  storageBuffer,
  uploadF32,
  uploadTensor,
} from "./gpu_buffers.ts";
import {
  type Grid,
  grids,
  type HybridShape,
  type StorageDtype,
} from "../kernels/geometry.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
  embedParams,
  LINEAR_FLAGS,
  linearParams,
  linearRopeParams,
  rmsnormParams,
  ropeKvParams,
  sampleParams,
} from "../kernels/params.ts";
import { bindKernel, type Kernel, type Kernels } from "../kernels/pipelines.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import { HDR } from "../batch/step_batch.ts";
import { readGlobals, readLayer, type WeightSource } from "../model/weights.ts";

const { BIAS, RESIDUAL, SILU_MUL, NORM, GATHER, KSPLIT } = LINEAR_FLAGS;

/** The bind groups of one decoder layer. */
export interface LayerGroups {
  norm1: GPUBindGroup;
  /** qkv over xn (linear_tiled, after norm1). */
  qkv: GPUBindGroup;
  /** qkv over x with norm1 fused (linear_gemv, M <= GEMV_MB). */
  qkvNorm: GPUBindGroup;
  /**
   * One row of qkv over x with norm1 fused and rope_kv's rotation and cache write
   * (linear_gemv_rope), or null when the engine has no such kernel.
   */
  qkvRope: GPUBindGroup | null;
  rope: GPUBindGroup;
  /** attention_hybrid over items from 0 (fused, or the serial prefill dispatch). */
  attn: GPUBindGroup;
  /** attention_hybrid over items from HDR.NWP (the serial decode dispatch). */
  attnDecode: GPUBindGroup;
  merge: GPUBindGroup;
  o: GPUBindGroup;
  norm2: GPUBindGroup;
  gateUp: GPUBindGroup;
  /** gate_up over x with norm2 fused (linear_gemv). */
  gateUpNorm: GPUBindGroup;
  down: GPUBindGroup;
  /** o and down as the tiled matmul split over K (KSPLIT, partials in lpart), and the sums. */
  oSplit: GPUBindGroup;
  oReduce: GPUBindGroup;
  downSplit: GPUBindGroup;
  downReduce: GPUBindGroup;
  /**
   * l2_touch over o's weights and over this layer's qkv weights (EngineOptions.l2Prefetch),
   * each with a sink of its own (no barrier between it and the dispatch it runs beside), or
   * null when the engine does not prefetch.
   */
  oTouch: Touch | null;
  qkvTouch: Touch | null;
}

/** One l2_touch dispatch: its bind group and grid. */
export interface Touch {
  group: GPUBindGroup;
  grid: Grid;
}

/** The bind groups outside the layers. */
export type ModelGlobals = Record<
  "embed" | "finalNorm" | "lmHead" | "lmHeadNorm" | "sampleBlocks" | "sample",
  GPUBindGroup
>;

/** What {@link bindModel} needs: the engine's device, model, kernels and activation buffers. */
export interface BindInputs {
  gpu: EngineDevice;
  src: WeightSource;
  dtype: StorageDtype;
  kernels: Kernels;
  /** linear_gemv_rope, compiled with the qkv layer's geometry, or null (forward.ts). */
  gemvRope: Kernel | null;
  /** The engine's buffers by name (meta, x, xn, qkv, attn, gu, logits, ...; forward.ts). */
  b: Record<string, GPUBuffer>;
  shape: HybridShape;
  /** KV-cache elements per layer. */
  kvLayer: number;
  /** Receives every buffer created here (the engine frees them). */
  owned: GPUBuffer[];
  /** Whether to build the l2_touch bind groups (EngineOptions.l2Prefetch). */
  l2Touch: boolean;
}

/** Uploads the weights and builds every bind group of the model. */
export async function bindModel(
  inp: BindInputs,
): Promise<{ layers: LayerGroups[]; globals: ModelGlobals }> {
  const { gpu, src, dtype, kernels, gemvRope, b, shape, kvLayer, owned } = inp;
  // Each l2_touch writes a sink of its own: a buffer written by two dispatches of one pass
  // would get a barrier between them, and the touch must not wait for, or hold up, its neighbours.
  const touch = (label: string, w: GPUBuffer): Touch | null => {
    if (!inp.l2Touch) return null;
    const sink = storageBuffer(
      gpu.device,
      `${label} sink [1] vec4<u32>`,
      16,
      maxB,
    );
    owned.push(sink);
    return {
      group: bindKernel(gpu.device, kernels.l2_touch, label, [w, sink]),
      grid: grids.touch(w.size),
    };
  };
  const cfg = src.config;
  const { numLayers: L, hidden: C, numHeads: H, numKvHeads: G, headDim: D } =
    cfg;
  const { intermediate: I, vocab: V } = cfg;
  const QKV = (H + 2 * G) * D;
  const device = gpu.device;
  const maxB = gpu.limits.maxStorageBufferBindingSize;
  const arena = new ParamArena();
  const eps = cfg.rmsNormEps;
  const lin = (
    N: number,
    K: number,
    XS: number,
    flags: number,
    mHdr: number,
  ) => arena.add(linearParams(N, K, XS, flags, mHdr, eps));
  const p = {
    embed: arena.add(embedParams(C)),
    norm: arena.add(rmsnormParams(C, false, eps)),
    finalNorm: arena.add(rmsnormParams(C, true, eps)),
    lmHead: lin(V, C, C, 0, HDR.R),
    lmHeadNorm: lin(V, C, C, NORM | GATHER, HDR.R),
    sample: arena.add(sampleParams(V)),
    qkv: lin(QKV, C, C, cfg.qkvBias ? BIAS : 0, HDR.T),
    qkvNorm: lin(QKV, C, C, NORM | (cfg.qkvBias ? BIAS : 0), HDR.T),
    o: lin(C, H * D, H * D, RESIDUAL | (cfg.oBias ? BIAS : 0), HDR.T),
    gateUp: lin(2 * I, C, C, cfg.mlpBias ? BIAS : 0, HDR.T),
    gateUpNorm: lin(2 * I, C, C, NORM | (cfg.mlpBias ? BIAS : 0), HDR.T),
    down: lin(
      C,
      I,
      2 * I,
      RESIDUAL | SILU_MUL | (cfg.mlpBias ? BIAS : 0),
      HDR.T,
    ),
    oSplit: lin(
      C,
      H * D,
      H * D,
      KSPLIT | RESIDUAL | (cfg.oBias ? BIAS : 0),
      HDR.T,
    ),
    downSplit: lin(
      C,
      I,
      2 * I,
      KSPLIT | RESIDUAL | SILU_MUL | (cfg.mlpBias ? BIAS : 0),
      HDR.T,
    ),
    merge: arena.add(attentionMergeParams(D)),
    rope: [] as number[],
    qkvRope: [] as number[],
    attn: [] as number[],
    attnDecode: [] as number[],
  };
  const kvBuffers: GPUBuffer[] = [];
  for (let l = 0; l < L; l++) {
    kvBuffers.push(storageBuffer(
      device,
      `L${l}.kv [pages, 2, G, ${PAGE_SIZE}, D] ${dtype}`,
      kvLayer * dtypeBytes(dtype),
      maxB,
    ));
    const base = 0; // each layer's cache is its own buffer
    p.rope.push(arena.add(ropeKvParams(H, G, D, base)));
    const qkvFlags = NORM | (cfg.qkvBias ? BIAS : 0);
    p.qkvRope.push(arena.add(linearRopeParams(QKV, C, qkvFlags, H, base, eps)));
    p.attn.push(
      arena.add(attentionHybridParams(H, G, D, base, shape.kb, 0)),
    );
    p.attnDecode.push(
      arena.add(attentionHybridParams(H, G, D, base, shape.kb, HDR.NWP)),
    );
  }
  const P = arena.finish(device, "params (uniform slots)");
  owned.push(P[0].buffer, ...kvBuffers);
  const layers: LayerGroups[] = [];
  const k = kernels;
  const bind = bindKernel.bind(null, device);
  for (let l = 0; l < L; l++) {
    const w = await readLayer(src, l);
    const keep = (buf: GPUBuffer) => (owned.push(buf), buf);
    const up = (n: string, a: Float32Array) =>
      keep(uploadTensor(device, `L${l}.${n}`, a, dtype, maxB));
    const upF = (n: string, a: Float32Array | null) =>
      a ? keep(uploadF32(device, `L${l}.${n} f32`, a, maxB)) : b.dummy;
    const ln1 = upF("ln1 [C]", w.ln1);
    const oBias = upF("o_bias [C]", w.oBias);
    const downBias = upF("down_bias [C]", w.downBias);
    const ln2 = upF("ln2 [C]", w.ln2);
    const wqkv = up(`qkv [(H+2G)D, C] ${dtype}`, w.qkv);
    const wo = up(`o [C, H D] ${dtype}`, w.o);
    const wgu = up(`gate_up [2I, C] ${dtype}`, w.gateUp);
    const wdown = up(`down [C, I] ${dtype}`, w.down);
    const kv = kvBuffers[l];
    const qkvBias = upF("qkv_bias [(H+2G)D]", w.qkvBias);
    const gateUpBias = upF("gate_up_bias [2I]", w.gateUpBias);
    layers.push({
      norm1: bind(k.rmsnorm, `L${l}.norm1`, [
        P[p.norm],
        b.meta,
        b.x,
        ln1,
        b.xn,
      ]),
      qkv: bind(k.linear_gemv, `L${l}.qkv`, [
        P[p.qkv],
        b.meta,
        b.xn,
        wqkv,
        qkvBias,
        b.dummy,
        b.qkv,
      ]),
      qkvNorm: bind(k.linear_gemv, `L${l}.qkv+norm1`, [
        P[p.qkvNorm],
        b.meta,
        b.x,
        wqkv,
        qkvBias,
        ln1,
        b.qkv,
      ]),
      qkvRope: gemvRope &&
        bind(gemvRope, `L${l}.qkv+norm1+rope_kv`, [
          P[p.qkvRope[l]],
          b.meta,
          b.x,
          wqkv,
          qkvBias,
          ln1,
          b.qkv,
          b.invFreq,
          kv,
        ]),
      rope: bind(k.rope_kv, `L${l}.rope_kv`, [
        P[p.rope[l]],
        b.meta,
        b.invFreq,
        b.qkv,
        kv,
      ]),
      attn: bind(k.attention_hybrid, `L${l}.attention_hybrid`, [
        P[p.attn[l]],
        b.meta,
        b.qkv,
        kv,
        b.attn,
        b.part,
      ]),
      attnDecode: bind(k.attention_hybrid, `L${l}.attention_hybrid decode`, [
        P[p.attnDecode[l]],
        b.meta,
        b.qkv,
        kv,
        b.attn,
        b.part,
      ]),
      merge: bind(k.attention_merge, `L${l}.attention_merge`, [
        P[p.merge],
        b.meta,
        b.part,
        b.attn,
      ]),
      o: bind(k.linear_gemv, `L${l}.o`, [
        P[p.o],
        b.meta,
        b.attn,
        wo,
        oBias,
        b.dummy,
        b.x,
      ]),
      norm2: bind(k.rmsnorm, `L${l}.norm2`, [
        P[p.norm],
        b.meta,
        b.x,
        ln2,
        b.xn,
      ]),
      gateUp: bind(k.linear_gemv, `L${l}.gate_up`, [
        P[p.gateUp],
        b.meta,
        b.xn,
        wgu,
        gateUpBias,
        b.dummy,
        b.gu,
      ]),
      gateUpNorm: bind(k.linear_gemv, `L${l}.gate_up+norm2`, [
        P[p.gateUpNorm],
        b.meta,
        b.x,
        wgu,
        gateUpBias,
        ln2,
        b.gu,
      ]),
      down: bind(k.linear_gemv, `L${l}.down`, [
        P[p.down],
        b.meta,
        b.gu,
        wdown,
        downBias,
        b.dummy,
        b.x,
      ]),
      oSplit: bind(k.linear_gemv, `L${l}.o split-K`, [
        P[p.oSplit],
        b.meta,
        b.attn,
        wo,
        oBias,
        b.dummy,
        b.lpart,
      ]),
      oReduce: bind(k.linear_reduce, `L${l}.o reduce`, [
        P[p.oSplit],
        b.meta,
        b.lpart,
        oBias,
        b.x,
      ]),
      downSplit: bind(k.linear_gemv, `L${l}.down split-K`, [
        P[p.downSplit],
        b.meta,
        b.gu,
        wdown,
        downBias,
        b.dummy,
        b.lpart,
      ]),
      downReduce: bind(k.linear_reduce, `L${l}.down reduce`, [
        P[p.downSplit],
        b.meta,
        b.lpart,
        downBias,
        b.x,
      ]),
      oTouch: touch(`L${l}.o l2_touch`, wo),
      qkvTouch: touch(`L${l}.qkv l2_touch`, wqkv),
    });
  }
  const gw = await readGlobals(src);
  const embed = uploadTensor(
    device,
    `embed [V, C] ${dtype}`,
    gw.embed,
    dtype,
    maxB,
  );
  const lmHead = cfg.tieWordEmbeddings
    ? embed
    : uploadTensor(device, `lm_head [V, C] ${dtype}`, gw.lmHead, dtype, maxB);
  const norm = uploadF32(device, "norm [C] f32", gw.norm, maxB);
  owned.push(embed, norm);
  if (lmHead !== embed) owned.push(lmHead);
  const globals = {
    embed: bind(k.embed, "embed", [
      P[p.embed],
      b.meta,
      b.lastTok,
      embed,
      b.x,
    ]),
    finalNorm: bind(k.rmsnorm, "final_norm", [
      P[p.finalNorm],
      b.meta,
      b.x,
      norm,
      b.xn,
    ]),
    lmHead: bind(k.linear_gemv, "lm_head", [
      P[p.lmHead],
      b.meta,
      b.xn,
      lmHead,
      b.dummy,
      b.dummy,
      b.logits,
    ]),
    lmHeadNorm: bind(k.linear_gemv, "lm_head+final_norm", [
      P[p.lmHeadNorm],
      b.meta,
      b.x,
      lmHead,
      b.dummy,
      norm,
      b.logits,
    ]),
    sampleBlocks: bind(k.sample_blocks, "sample_blocks", [
      P[p.sample],
      b.meta,
      b.logits,
      b.samplePart,
    ]),
    sample: bind(k.sample, "sample", [
      P[p.sample],
      b.meta,
      b.logits,
      b.samplePart,
      b.lastTok,
      b.tokenLog,
      b.logprobLog,
    ]),
  };
  return { layers, globals };
}
