// Hybrid attention (attention_hybrid.wgsl + attention_merge.wgsl over the work list of
// attention_plan.ts) against the CPU reference, with and without KV splits, fused and serial.
import assert from "node:assert/strict";
import {
  attentionCaps,
  attentionWords,
  planAttention,
} from "../../../adapters/webgpu/attention_plan.ts";
import { ropeInvFreq } from "../../../adapters/webgpu/config.ts";
import {
  roundToStorage,
  toStorageBytes,
  uniformBuffer,
} from "../../../adapters/webgpu/gpu_buffers.ts";
import {
  grids,
  hybridShape,
} from "../../../adapters/webgpu/kernels/geometry.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
  ropeKvParams,
} from "../../../adapters/webgpu/kernels/params.ts";
import {
  compileKernels,
  type Kernels,
} from "../../../adapters/webgpu/kernels/pipelines.ts";
import { ropeKvAttentionRef } from "../../../adapters/webgpu/reference_kernels.ts";
import {
  HDR,
  metaWords,
  packStep,
  type StepLimits,
} from "../../../adapters/webgpu/step_batch.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  relErr,
  runKernels,
  testDevice,
} from "./_gpu.ts";
import { webgpuTest } from "../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const greedy = { temperature: 0, topP: 1, seed: 0 };
let kernels: Promise<Kernels> | null = null;

const LIM: StepLimits = {
  maxTokens: 64,
  maxSeqs: 6,
  numPages: 24,
  vocab: 64,
  maxContext: 96,
  logSize: 8,
};

/** A hybrid step: a 23-token chunk at position 9, a 2-token chunk, and decodes at 1, 40, 70. */
function step() {
  const pages = (first: number, n: number) =>
    Array.from({ length: n }, (_, i) => (first * 5 + i * 7) % LIM.numPages);
  return packStep({
    seqs: [
      {
        slot: 0,
        start: 9,
        tokens: Array.from({ length: 23 }, (_, i) => i),
        pages: pages(0, 2),
        sample: greedy,
      },
      { slot: 1, start: 0, tokens: [3, 4], pages: pages(1, 1), sample: null },
      { slot: 2, start: 1, tokens: null, pages: pages(2, 1), sample: greedy },
      { slot: 3, start: 40, tokens: null, pages: pages(3, 3), sample: greedy },
      { slot: 4, start: 70, tokens: null, pages: pages(4, 5), sample: greedy },
    ],
    logBase: 0,
  }, LIM);
}

async function runHybrid(
  shapeHGD: [number, number, number],
  targetItems: number,
  mode: "fused" | "serial",
) {
  const [H, G, D] = shapeHGD;
  const gpu = await testDevice();
  const device = gpu.device;
  kernels ??= compileKernels(device, "f32");
  const k = await kernels;
  const packed = step();
  const shape = hybridShape(H, G, D);
  const caps = attentionCaps(H, G, shape, LIM, targetItems);
  const meta = new Uint32Array(metaWords(LIM) + attentionWords(caps));
  meta.set(packed.meta);
  const plan = planAttention(meta, LIM, G, shape, caps, targetItems);
  const T = packed.numTokens;
  const W = (H + 2 * G) * D;
  const L = 2;
  const kvLayer = LIM.numPages * 2 * G * 16 * D;
  const layerBase = kvLayer;
  const kv0 = roundToStorage(randomF32(L * kvLayer, 3, 1), "f32");
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
    new Float32Array(Math.max(4, caps.partialRows * (D + 2))),
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
  if (mode === "serial") {
    steps.push({
      kernel: k.attention_hybrid,
      buffers: hyb(0),
      grid: grids.attnHybrid(plan.prefillItems),
    });
    steps.push({
      kernel: k.attention_hybrid,
      buffers: hyb(HDR.NWP),
      grid: grids.attnHybrid(plan.items - plan.prefillItems),
    });
  } else {
    steps.push({
      kernel: k.attention_hybrid,
      buffers: hyb(0),
      grid: grids.attnHybrid(plan.items),
    });
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
  return { got: await readF32(device, out, T * H * D), want, plan };
}

webgpuTest({
  name:
    "attention_hybrid.wgsl equals the reference on a hybrid step, every tiling",
  ...opts,
  fn: async (t) => {
    for (
      const hgd of [[4, 2, 16], [6, 2, 20], [8, 1, 64], [4, 4, 128]] as [
        number,
        number,
        number,
      ][]
    ) {
      for (const target of [1, 256]) {
        await t.step(
          `H G D = ${hgd.join(" ")}, target ${target} items`,
          async () => {
            const { got, want, plan } = await runHybrid(hgd, target, "fused");
            assert.equal(
              plan.prefillItems > 0 && plan.prefillItems < plan.items,
              true,
            );
            if (target > 1) assert.ok(plan.merges > 0, "expected split items");
            else assert.equal(plan.merges, 0);
            const err = relErr(got, want);
            assert.ok(err < 1e-5, `relative error ${err}`);
          },
        );
      }
    }
  },
});

webgpuTest({
  name:
    "attention_hybrid.wgsl fused and serial dispatches give identical outputs",
  ...opts,
  fn: async () => {
    for (const target of [1, 256]) {
      const fused = await runHybrid([4, 2, 16], target, "fused");
      const serial = await runHybrid([4, 2, 16], target, "serial");
      assert.deepEqual(serial.got, fused.got);
    }
  },
});

webgpuTest(
  "planAttention() puts prefill tiles first and splits only when items are few",
  async (t) => {
    const shape = hybridShape(4, 2, 16); // qt 32 tokens, kb 32 keys
    const caps = attentionCaps(4, 2, shape, LIM, 64);
    const fresh = () => {
      const m = new Uint32Array(metaWords(LIM) + attentionWords(caps));
      m.set(step().meta);
      return m;
    };
    await t.step("no split when the target is met", () => {
      const p = planAttention(fresh(), LIM, 2, shape, caps, 1);
      // Tiles: chunk of 23, chunk of 2, three decodes; times 2 kv heads.
      assert.deepEqual([p.prefillItems, p.items, p.merges, p.splitKeys], [
        4,
        10,
        0,
        0,
      ]);
    });
    await t.step("splits keys in multiples of the key block", () => {
      const p = planAttention(fresh(), LIM, 2, shape, caps, 64);
      assert.equal(p.splitKeys % shape.kb, 0);
      assert.ok(p.items > 10 && p.merges > 0);
    });
  },
);
