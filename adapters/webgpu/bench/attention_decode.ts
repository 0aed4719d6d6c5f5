/**
 * Decode attention sweep: one layer's attention of `batch` decodes at `ctx` (attention_hybrid.wgsl
 * + its merge pass) for several launch geometries and split targets on the SAME buffers, so
 * that variants of one point differ only in the kernel and the work list. KV read bandwidth is
 * the K and V bytes of every kv head's keys once over the GPU time, beside the copy kernel's
 * bandwidth measured in the same process (copies warm the GPU first and surround every timed pass:
 * _gpu.ts heatUp). GPU time by timestamp queries around one compute pass
 * of `reps` repetitions, median of `runs`, repeated until two medians agree within 5 % (at most
 * four; the lower of the last two kept, the repeat column how far they lie apart, flagged (!)
 * above 5 %); preset shapes with random q and KV.
 *
 * Usage: deno run -A adapters/webgpu/bench/attention_decode.ts [--preset llama-3.2-1b]
 *        [--runs 10] [--batches 1,16,64] [--ctxs 1024,4096] [--targets 512,2048]
 *        [--variants '[{}, {"HYB_DEC": 1}]'] (geometry changes, JSON)
 *
 * @module
 */
import {
  attentionCaps,
  attentionWords,
  planAttention,
} from "../step/attention_plan.ts";
import { parseModelConfig } from "../model/config.ts";
import { requestEngineDevice } from "../step/device.ts";
import {
  dtypeBytes,
  storageBuffer,
  toStorageBytes,
  uniformBuffer,
} from "../step/gpu_buffers.ts";
import {
  GEOMETRY,
  type Geometry,
  grids,
  hybridShape,
  type StorageDtype,
} from "../kernels/geometry.ts";
import { maxHybridKeys } from "../kernels/loop_passes.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
} from "../kernels/params.ts";
import {
  bindKernel,
  compileKernels,
  dispatch,
  type Kernels,
} from "../kernels/pipelines.ts";
import { fillUniform, PRESET_CONFIGS } from "../model/presets.ts";
import {
  metaWords,
  packStep,
  type StepLimits,
  type StepSequence,
} from "../batch/step_batch.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import { heatUp, randomBuffer } from "./_gpu.ts";
import { repeatCell, timePass, timeSteady } from "./_timing.ts";

const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const nums = (s: string) => s.split(",").map(Number);

const gpu = await requestEngineDevice();
const device = gpu.device;
const preset = arg("--preset", gpu.isFallback ? "tiny" : "llama-3.2-1b");
const runs = Number(arg("--runs", gpu.isFallback ? "2" : "10"));
const reps = gpu.isFallback ? 1 : 10;
const batches = nums(arg("--batches", gpu.isFallback ? "1,4" : "1,16,64"));
const ctxs = nums(arg("--ctxs", gpu.isFallback ? "64" : "1024,4096"));
const targets = nums(arg("--targets", gpu.isFallback ? "4" : "512"));
const variants: Partial<Geometry>[] = JSON.parse(
  arg("--variants", '[{}, {"HYB_DEC": 1}]'),
);
const dtype: StorageDtype = gpu.f16 ? "f16" : "f32";
const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
const { numHeads: H, numKvHeads: G, headDim: D } = cfg;
const maxB = gpu.limits.maxStorageBufferBindingSize;

await heatUp(gpu);
// The copy ceiling in this process (read + write bytes over the time).
const copyK = await compileKernels(device, "f32", 64, GEOMETRY, ["copy"]);
const copyBytes = gpu.isFallback ? 32 << 20 : 1 << 30;
const src = randomBuffer(gpu, "copy src", copyBytes);
const dst = storageBuffer(device, "copy dst", copyBytes, maxB);
const copyGroup = bindKernel(device, copyK.copy, "copy", [src, dst]);
const copyS = await timePass(
  gpu,
  (pass) => {
    dispatch(pass, copyK.copy, copyGroup, grids.copy(copyBytes / 16));
  },
  reps,
  runs,
);
const copyGBs = 2 * copyBytes / copyS / 1e9;
src.destroy();
dst.destroy();

const compiled = new Map<string, Promise<Kernels>>();
const kernelsOf = (geo: Partial<Geometry>) => {
  const key = JSON.stringify(geo);
  if (!compiled.has(key)) {
    compiled.set(
      key,
      compileKernels(device, dtype, D, { ...GEOMETRY, ...geo }, [
        "attention_hybrid",
        "attention_merge",
      ]),
    );
  }
  return compiled.get(key)!;
};

console.log(
  `# decode attention: ${gpu.description}, preset ${preset}, ${dtype} KV, median of ${runs} runs of ${reps}; copy ${
    copyGBs.toFixed(0)
  } GB/s\n`,
);
console.log(
  "| batch | ctx | geometry | target | items | merges | us | repeat | KV GB/s | % of copy |",
);
console.log("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
for (const ctx of ctxs) {
  for (const batch of batches) {
    const pagesPer = Math.ceil(ctx / PAGE_SIZE);
    const numPages = batch * pagesPer;
    const lim: StepLimits = {
      maxTokens: batch,
      maxSeqs: batch,
      numPages,
      vocab: 16,
      maxContext: ctx,
      logSize: batch,
    };
    const seqs: StepSequence[] = Array.from({ length: batch }, (_, s) => ({
      slot: s,
      start: ctx - 1,
      tokens: [1],
      pages: Array.from({ length: pagesPer }, (_, i) => s * pagesPer + i),
      sample: { temperature: 0, topP: 1, seed: 0 },
    }));
    const packed = packStep({ seqs, logBase: 0 }, lim);
    const buf = (label: string, bytes: number) =>
      storageBuffer(device, label, bytes, maxB);
    const qkv = buf("qkv [T, (H+2G)D] f32", batch * (H + 2 * G) * D * 4);
    const q = new Float32Array(batch * (H + 2 * G) * D);
    device.queue.writeBuffer(qkv, 0, fillUniform(q, 1, 0, 1) && q);
    const kvElems = numPages * 2 * G * PAGE_SIZE * D;
    const kv = buf(
      `kv [pages, 2, G, 16, D] ${dtype}`,
      kvElems * dtypeBytes(dtype),
    );
    device.queue.writeBuffer(
      kv,
      0,
      toStorageBytes(fillUniform(new Float32Array(kvElems), 2, 0, 1), dtype),
    );
    const o = buf("out [T, H D] f32", batch * H * D * 4);
    const kvBytes = batch * ctx * 2 * G * D * dtypeBytes(dtype);
    for (const target of targets) {
      const shape = hybridShape(H, G, D);
      const split = {
        targetItems: target,
        maxItemKeys: maxHybridKeys(shape, D, gpu.loopBudget),
      };
      const caps = attentionCaps(H, G, shape, lim, split);
      const meta = new Uint32Array(metaWords(lim) + attentionWords(caps));
      meta.set(packed.meta);
      const plan = planAttention(meta, lim, G, shape, caps, split);
      const metaBuf = buf("meta", meta.byteLength);
      device.queue.writeBuffer(metaBuf, 0, meta);
      const part = buf(
        "part [rows, D+2] f32",
        Math.max(16, caps.partialRows * (D + 2) * 4),
      );
      for (const geo of variants) {
        const k = await kernelsOf(geo);
        const gA = bindKernel(device, k.attention_hybrid, "hyb", [
          uniformBuffer(
            device,
            "p",
            attentionHybridParams(H, G, D, 0, shape.kb, 0),
          ),
          metaBuf,
          qkv,
          kv,
          o,
          part,
        ]);
        const gM = bindKernel(device, k.attention_merge, "merge", [
          uniformBuffer(device, "p", attentionMergeParams(D)),
          metaBuf,
          part,
          o,
        ]);
        const { s, spread } = await timeSteady(
          gpu,
          (pass) => {
            dispatch(
              pass,
              k.attention_hybrid,
              gA,
              grids.attnHybrid(plan.items),
            );
            if (plan.merges > 0) {
              dispatch(
                pass,
                k.attention_merge,
                gM,
                grids.attnMerge(plan.merges),
              );
            }
          },
          reps,
          runs,
        );
        const gbs = kvBytes / s / 1e9;
        console.log(
          `| ${batch} | ${ctx} | ${
            JSON.stringify(geo)
          } | ${target} | ${plan.items} | ${plan.merges} | ${
            (s * 1e6).toFixed(1)
          } | ${repeatCell(spread)} | ${gbs.toFixed(0)} | ${
            (100 * gbs / copyGBs).toFixed(0)
          } % |`,
        );
      }
      metaBuf.destroy();
      part.destroy();
    }
    for (const b of [qkv, kv, o]) b.destroy();
  }
}
device.destroy();
