/**
 * Test helper: one step's rope_kv.wgsl + attention_hybrid.wgsl (+ attention_merge.wgsl) over the
 * work list of attention_plan.ts on the test adapter, beside the TypeScript reference. The
 * attention output starts as NaN, so an output a kernel leaves unwritten shows.
 *
 * @module
 */
import {
  attentionCaps,
  type AttentionPlan,
  type AttentionSplit,
  attentionWords,
  planAttention,
} from "../../../../adapters/webgpu/step/attention_plan.ts";
import { ropeInvFreq } from "../../../../adapters/webgpu/model/config.ts";
import {
  roundToStorage,
  toStorageBytes,
  uniformBuffer,
} from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  GEOMETRY,
  type Geometry,
  grids,
  hybridShape,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
  ropeKvParams,
} from "../../../../adapters/webgpu/kernels/params.ts";
import {
  compileKernels,
  type Kernels,
} from "../../../../adapters/webgpu/kernels/pipelines.ts";
import { ropeKvAttentionRef } from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import {
  HDR,
  metaWords,
  type PackedStep,
  type StepLimits,
} from "../../../../adapters/webgpu/batch/step_batch.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  runKernels,
  testDevice,
} from "../_gpu.ts";

const kernels = new Map<string, Promise<Kernels>>();

/** What {@link runHybridStep} returns: [T, H * D] outputs of the kernels and the reference. */
export interface HybridRun {
  got: Float32Array;
  want: Float64Array;
  plan: AttentionPlan;
}

/**
 * Runs attention of `packed` (f32 KV, 2 layers, layer 1) for heads [H, G, D] under `split`,
 * fused (one dispatch) or serial (prefill items, then the rest), with the kernels compiled for
 * the launch geometry GEOMETRY + `geo`.
 */
export async function runHybridStep(
  packed: PackedStep,
  lim: StepLimits,
  [H, G, D]: [number, number, number],
  split: AttentionSplit,
  mode: "fused" | "serial" = "fused",
  geo: Partial<Geometry> = {},
): Promise<HybridRun> {
  const gpu = await testDevice();
  const device = gpu.device;
  const key = `${D} ${JSON.stringify(geo)}`;
  if (!kernels.has(key)) {
    kernels.set(
      key,
      compileKernels(device, "f32", D, { ...GEOMETRY, ...geo }),
    );
  }
  const k = await kernels.get(key)!;
  const shape = hybridShape(H, G, D);
  const caps = attentionCaps(H, G, shape, lim, split);
  const meta = new Uint32Array(metaWords(lim) + attentionWords(caps));
  meta.set(packed.meta);
  const plan = planAttention(meta, lim, G, shape, caps, split);
  const T = packed.numTokens;
  const W = (H + 2 * G) * D;
  const kvLayer = lim.numPages * 2 * G * 16 * D;
  const layerBase = kvLayer;
  const kv0 = roundToStorage(randomF32(2 * kvLayer, 3, 1), "f32");
  const qkv = randomF32(T * W, 4, 1);
  const invFreq = Float32Array.from(ropeInvFreq(D, 10000, { type: "default" }));
  const want = ropeKvAttentionRef(
    meta,
    qkv,
    Float64Array.from(kv0),
    { H, G, D },
    layerBase,
    invFreq,
  );
  const metaBuf = bufferOf(device, "meta", meta);
  const qkvBuf = bufferOf(device, "qkv", qkv);
  const kvBuf = bufferOf(device, "kv", toStorageBytes(kv0, "f32"));
  const out = bufferOf(device, "out", new Float32Array(T * H * D).fill(NaN));
  const part = bufferOf(
    device,
    "part",
    new Float32Array(Math.max(4, caps.partialRows * (D + 2))).fill(NaN),
  );
  const hyb = (baseHdr: number) => [
    uniformBuffer(
      device,
      "p",
      attentionHybridParams(H, G, D, layerBase, shape.kb, baseHdr),
    ),
    metaBuf,
    qkvBuf,
    kvBuf,
    out,
    part,
  ];
  const steps = [{
    kernel: k.rope_kv,
    buffers: [
      uniformBuffer(device, "p", ropeKvParams(H, G, D, layerBase)),
      metaBuf,
      bufferOf(device, "f", invFreq),
      qkvBuf,
      kvBuf,
    ],
    grid: grids.ropeKv(T, H, G, D),
  }];
  const dispatchItems = (baseHdr: number, n: number) => {
    if (n > 0) {
      steps.push({
        kernel: k.attention_hybrid,
        buffers: hyb(baseHdr),
        grid: grids.attnHybrid(n),
      });
    }
  };
  if (mode === "serial") {
    dispatchItems(0, plan.prefillItems);
    dispatchItems(HDR.NWP, plan.items - plan.prefillItems);
  } else {
    dispatchItems(0, plan.items);
  }
  if (plan.merges > 0) {
    steps.push({
      kernel: k.attention_merge,
      buffers: [
        uniformBuffer(device, "p", attentionMergeParams(D)),
        metaBuf,
        part,
        out,
      ],
      grid: grids.attnMerge(plan.merges),
    });
  }
  await runKernels(device, steps);
  const got = await readF32(device, out, T * H * D);
  for (const b of [metaBuf, qkvBuf, kvBuf, out, part]) b.destroy();
  return { got, want, plan };
}

/** Indices of NaN entries (outputs no kernel wrote), at most `max` of them. */
export function unwritten(a: Float32Array, max = 8): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length && out.length < max; i++) {
    if (Number.isNaN(a[i])) out.push(i);
  }
  return out;
}
