/**
 * Fused vs serial hybrid attention over a grid of prefill chunk x decode batch x context
 * (`deno task perf:attention`): the same work list dispatched once (fused) or as prefill items
 * then decode items (serial, the two-dispatch baseline), plus the part-1 kernel (one workgroup
 * per token and head) for reference. GPU time by timestamp queries around one compute pass of
 * `reps` repetitions, median of `runs`; preset shapes with random q and KV.
 *
 * Usage: deno run -A adapters/webgpu/bench/attention.ts [--preset llama-3.2-1b] [--runs 20]
 *        [--quick] (a 2 x 2 x 2 grid)
 *
 * @module
 */
import {
  attentionCaps,
  attentionWords,
  planAttention,
} from "../attention_plan.ts";
import { parseModelConfig } from "../config.ts";
import { type EngineDevice, requestEngineDevice } from "../device.ts";
import {
  storageBuffer,
  toStorageBytes,
  uniformBuffer,
} from "../gpu_buffers.ts";
import { grids, hybridShape, type StorageDtype } from "../kernels/geometry.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
  attentionParams,
} from "../kernels/params.ts";
import {
  checkLoopBudget,
  loopPasses,
  maxHybridKeys,
} from "../kernels/loop_passes.ts";
import { bindKernel, compileKernels, dispatch } from "../kernels/pipelines.ts";
import { fillUniform, PRESET_CONFIGS } from "../presets.ts";
import {
  HDR,
  metaWords,
  packStep,
  PAGE_SIZE,
  type StepLimits,
  type StepSequence,
} from "../step_batch.ts";
import { timePass } from "./_timing.ts";

/** One grid point's result. */
export interface AttentionPoint {
  chunk: number;
  batch: number;
  ctx: number;
  items: number;
  fusedUs: number;
  serialUs: number;
  part1Us: number;
}

/** Runs the grid on `gpu` and returns one point per (chunk, batch, ctx). */
export async function benchAttention(
  gpu: EngineDevice,
  preset: string,
  grid: { chunks: number[]; batches: number[]; ctxs: number[] },
  runs: number,
  reps: number,
): Promise<AttentionPoint[]> {
  const device = gpu.device;
  const dtype: StorageDtype = gpu.f16 ? "f16" : "f32";
  const k = await compileKernels(device, dtype, D);
  const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
  const { numHeads: H, numKvHeads: G, headDim: D } = cfg;
  const shape = hybridShape(H, G, D);
  const split = {
    targetItems: gpu.isFallback ? 4 : 512,
    maxItemKeys: maxHybridKeys(shape, D, gpu.loopBudget),
  };
  const maxB = gpu.limits.maxStorageBufferBindingSize;
  const out: AttentionPoint[] = [];
  for (const ctx of grid.ctxs) {
    for (const batch of grid.batches) {
      for (const chunk of grid.chunks) {
        const pagesPer = Math.ceil(ctx / PAGE_SIZE);
        const numPages = (batch + 1) * pagesPer;
        const lim: StepLimits = {
          maxTokens: chunk + batch,
          maxSeqs: batch + 1,
          numPages,
          vocab: 16,
          maxContext: ctx,
          logSize: batch + 1,
        };
        const greedy = { temperature: 0, topP: 1, seed: 0 };
        const pages = (s: number) =>
          Array.from({ length: pagesPer }, (_, i) => s * pagesPer + i);
        // A chunk that ends the context, and decodes at the context's last position.
        const seqs: StepSequence[] = [{
          slot: 0,
          start: ctx - chunk,
          tokens: Array.from({ length: chunk }, () => 1),
          pages: pages(0),
          sample: greedy,
        }];
        for (let b = 0; b < batch; b++) {
          seqs.push({
            slot: b + 1,
            start: ctx - 1,
            tokens: [1],
            pages: pages(b + 1),
            sample: greedy,
          });
        }
        const packed = packStep({ seqs, logBase: 0 }, lim);
        checkLoopBudget(
          gpu.loopBudget,
          `attention.wgsl (part-1 kernel, ctx ${ctx}, D ${D})`,
          loopPasses.attention(ctx, D),
        );
        const caps = attentionCaps(H, G, shape, lim, split);
        const meta = new Uint32Array(metaWords(lim) + attentionWords(caps));
        meta.set(packed.meta);
        const plan = planAttention(meta, lim, G, shape, caps, split);
        const T = packed.numTokens;
        const buf = (label: string, bytes: number) =>
          storageBuffer(device, label, bytes, maxB);
        const metaBuf = buf("meta", meta.byteLength);
        device.queue.writeBuffer(metaBuf, 0, meta);
        const qkv = buf("qkv [T, (H+2G)D] f32", T * (H + 2 * G) * D * 4);
        device.queue.writeBuffer(
          qkv,
          0,
          fillUniform(new Float32Array(T * (H + 2 * G) * D), 1, 0, 1),
        );
        const kvElems = numPages * 2 * G * PAGE_SIZE * D;
        const kv = buf(
          `kv [pages, 2, G, 16, D] ${dtype}`,
          kvElems * (dtype === "f16" ? 2 : 4),
        );
        device.queue.writeBuffer(
          kv,
          0,
          toStorageBytes(
            fillUniform(new Float32Array(kvElems), 2, 0, 1),
            dtype,
          ),
        );
        const o = buf("out [T, H D] f32", T * H * D * 4);
        const part = buf(
          "part [rows, D+2] f32",
          Math.max(16, caps.partialRows * (D + 2) * 4),
        );
        const hyb = (baseHdr: number) =>
          bindKernel(device, k.attention_hybrid, "hyb", [
            uniformBuffer(
              device,
              "p",
              attentionHybridParams(H, G, D, 0, shape.kb, baseHdr),
            ),
            metaBuf,
            qkv,
            kv,
            o,
            part,
          ]);
        const gA = hyb(0);
        const gB = hyb(HDR.NWP);
        const gM = bindKernel(device, k.attention_merge, "merge", [
          uniformBuffer(device, "p", attentionMergeParams(D)),
          metaBuf,
          part,
          o,
        ]);
        const g1 = bindKernel(device, k.attention, "part-1", [
          uniformBuffer(device, "p", attentionParams(H, G, D, 0)),
          metaBuf,
          qkv,
          kv,
          o,
        ]);
        const merge = (pass: GPUComputePassEncoder) => {
          if (plan.merges > 0) {
            dispatch(pass, k.attention_merge, gM, grids.attnMerge(plan.merges));
          }
        };
        const fused = await timePass(
          gpu,
          (pass) => {
            dispatch(
              pass,
              k.attention_hybrid,
              gA,
              grids.attnHybrid(plan.items),
            );
            merge(pass);
          },
          reps,
          runs,
        );
        const serial = await timePass(
          gpu,
          (pass) => {
            dispatch(
              pass,
              k.attention_hybrid,
              gA,
              grids.attnHybrid(plan.prefillItems),
            );
            dispatch(
              pass,
              k.attention_hybrid,
              gB,
              grids.attnHybrid(plan.items - plan.prefillItems),
            );
            merge(pass);
          },
          reps,
          runs,
        );
        const part1 = await timePass(
          gpu,
          (pass) => {
            dispatch(pass, k.attention, g1, grids.attention(T, H));
          },
          Math.max(1, Math.floor(reps / 4)),
          runs,
        );
        out.push({
          chunk,
          batch,
          ctx,
          items: plan.items,
          fusedUs: fused * 1e6,
          serialUs: serial * 1e6,
          part1Us: part1 * 1e6,
        });
        for (const b of [metaBuf, qkv, kv, o, part]) b.destroy();
      }
    }
  }
  return out;
}

/** The grid as a Markdown table plus the summary lines the targets are judged by. */
export function renderAttention(points: AttentionPoint[]): string {
  const lines = [
    "| prefill chunk | decode batch | context | items | fused us | serial us | fused/serial | part-1 kernel us |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const p of points) {
    lines.push(
      `| ${p.chunk} | ${p.batch} | ${p.ctx} | ${p.items} | ${
        p.fusedUs.toFixed(1)
      } | ${p.serialUs.toFixed(1)} | ${(p.fusedUs / p.serialUs).toFixed(3)} | ${
        p.part1Us.toFixed(1)
      } |`,
    );
  }
  const ratios = points.map((p) => p.fusedUs / p.serialUs).sort((a, b) =>
    a - b
  );
  const median = ratios[Math.floor(ratios.length / 2)];
  lines.push(
    "",
    `fused/serial over ${ratios.length} points: median ${
      median.toFixed(3)
    }, min ${ratios[0].toFixed(3)}, max ${
      ratios[ratios.length - 1].toFixed(3)
    } (ENGINE.md target: median <= 0.92, never > 1.02)`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const arg = (name: string, def: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : def;
  };
  const gpu = await requestEngineDevice();
  const cpu = gpu.isFallback;
  const quick = Deno.args.includes("--quick") || cpu;
  const preset = arg("--preset", cpu ? "tiny" : "llama-3.2-1b");
  const grid = quick
    ? { chunks: [16, 64], batches: [2, 8], ctxs: [64, 256] }
    : { chunks: [64, 256, 512], batches: [4, 16, 64], ctxs: [512, 1024, 2048] };
  const runs = Number(arg("--runs", cpu ? "3" : "20"));
  console.log(
    `# hybrid attention, fused vs serial: ${gpu.description}, preset ${preset}, ${
      gpu.f16 ? "f16" : "f32"
    } KV, median of ${runs} runs, timing by ${
      gpu.timestamps ? "timestamp queries" : "wall clock"
    }\n`,
  );
  console.log(
    renderAttention(
      await benchAttention(gpu, preset, grid, runs, cpu ? 1 : 10),
    ),
  );
  gpu.device.destroy();
}
