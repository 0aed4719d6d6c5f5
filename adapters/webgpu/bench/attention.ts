/**
 * Hybrid attention benchmark (`deno task perf:attention`): one layer's attention of a step made
 * of one prefill chunk ending at `context` and `batch` decodes at `context`, over a grid of
 * chunk x batch x context. _fused_: the work list in ONE dispatch of attention_hybrid.wgsl (+ the
 * merge pass); _serial_: the better of two separate pairs: the same items as two dispatches
 * (prefill tiles, then decode items) + merge, and the prefill chunk and the decodes each planned
 * as a step of its own (the split the engine gives a step of that kind alone), each dispatch
 * with its merge; _part-1_: issue 3's one-workgroup-per-(token, head) kernel, for reference. Decode-only points (chunk 0) give the KV read bandwidth of decode
 * attention. GPU time by timestamp queries around one compute pass of `reps` repetitions,
 * median of `runs`, repeated until two medians agree within 5 % (at most four; the lower of the
 * last two kept, the table's repeat column is how far they lie apart, flagged (!) above 5 %);
 * preset shapes with random q and KV.
 *
 * Usage: deno run -A adapters/webgpu/bench/attention.ts [--preset llama-3.2-1b] [--runs 20]
 *        [--quick] (a 2 x 2 x 2 grid) [--no-part1] (leave the part-1 kernel out)
 *        [--target N] (work items the plan splits towards; default the engine's)
 *        [--geometry JSON] (launch-geometry changes, e.g. '{"HYB_SX": 1}')
 *        [--mixed-decode-scale N] (decode ranges in a step with prefill, default the engine's)
 *        [--grid JSON] (e.g. '{"chunks":[64],"batches":[4],"ctxs":[512]}'; default the issue's)
 *
 * @module
 */
import {
  attentionCaps,
  attentionWords,
  MIXED_DECODE_SCALE,
  planAttention,
} from "../step/attention_plan.ts";
import { parseModelConfig } from "../model/config.ts";
import { type EngineDevice, requestEngineDevice } from "../step/device.ts";
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
import {
  checkLoopBudget,
  loopPasses,
  maxHybridKeys,
} from "../kernels/loop_passes.ts";
import {
  attentionHybridParams,
  attentionMergeParams,
  attentionParams,
} from "../kernels/params.ts";
import { bindKernel, compileKernels, dispatch } from "../kernels/pipelines.ts";
import { fillUniform, PRESET_CONFIGS } from "../model/presets.ts";
import {
  HDR,
  metaWords,
  packStep,
  type StepLimits,
  type StepSequence,
} from "../batch/step_batch.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import {
  REPEAT_LIMIT,
  repeatCell,
  type Steady,
  timePass,
  timeSteady,
} from "./_timing.ts";
import { heatUp } from "./_gpu.ts";

/** One grid point's result (serialUs and part1Us are null where not measured). */
export interface AttentionPoint {
  chunk: number;
  batch: number;
  ctx: number;
  items: number;
  /** Work items the plan split towards. */
  targetItems: number;
  /** The launch-geometry changes the kernels were compiled with ("" for the engine's). */
  geometry?: string;
  /** Decode ranges in a step with prefill, in prefill ranges (AttentionSplit.mixedDecodeScale). */
  mixedDecodeScale?: number;
  /** K and V bytes the step must read (each kv head's keys once). */
  kvBytes: number;
  fusedUs: number;
  /** The better of serialSameUs and serialOwnUs. */
  serialUs: number | null;
  /** The fused dispatch's items as two dispatches + merge. */
  serialSameUs?: number | null;
  /** The chunk and the decodes each planned as a step alone, each dispatch with its merge. */
  serialOwnUs?: number | null;
  part1Us: number | null;
  /**
   * How well the point repeats: fused and serial are each timed until two medians agree
   * (timeSteady), and this is the larger |a - b| / min(a, b) of their last two (absent in results
   * from before 2026-12-03, which timed each once).
   */
  spread?: number;
}

/** Options of {@link benchAttention}. */
export interface AttentionBenchOptions {
  preset: string;
  /** Prefill chunk lengths (0: decode only), decode batches, contexts. */
  grid: { chunks: number[]; batches: number[]; ctxs: number[] };
  runs: number;
  reps: number;
  /** Also time the part-1 kernel (default true). */
  part1?: boolean;
  /** Work items the plan splits towards (default the engine's: 4 on a software adapter, else 512). */
  targetItems?: number;
  /** Launch-geometry changes to compile the kernels with (default none: the engine's). */
  geometry?: Partial<Geometry>;
  /** AttentionSplit.mixedDecodeScale (default the engine's, MIXED_DECODE_SCALE). */
  mixedDecodeScale?: number;
}

/** Runs the grid on `gpu` and returns one point per (chunk, batch, ctx). */
export async function benchAttention(
  gpu: EngineDevice,
  opts: AttentionBenchOptions,
): Promise<AttentionPoint[]> {
  const { preset, grid, runs, reps } = opts;
  const device = gpu.device;
  const dtype: StorageDtype = gpu.f16 ? "f16" : "f32";
  const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
  const { numHeads: H, numKvHeads: G, headDim: D } = cfg;
  const k = await compileKernels(device, dtype, D, {
    ...GEOMETRY,
    ...opts.geometry,
  }, [
    "attention_hybrid",
    "attention_merge",
    "attention",
  ]);
  const shape = hybridShape(H, G, D);
  const split = {
    targetItems: opts.targetItems ?? (gpu.isFallback ? 4 : 512),
    maxItemKeys: maxHybridKeys(shape, D, gpu.loopBudget),
    mixedDecodeScale: opts.mixedDecodeScale,
  };
  const maxB = gpu.limits.maxStorageBufferBindingSize;
  const out: AttentionPoint[] = [];
  for (const ctx of grid.ctxs) {
    for (const batch of grid.batches) {
      for (const chunk of grid.chunks) {
        const pagesPer = Math.ceil(ctx / PAGE_SIZE);
        const nseq = batch + (chunk > 0 ? 1 : 0);
        const numPages = nseq * pagesPer;
        const lim: StepLimits = {
          maxTokens: chunk + batch,
          maxSeqs: nseq,
          numPages,
          vocab: 16,
          maxContext: ctx,
          logSize: nseq,
        };
        const greedy = { temperature: 0, topP: 1, seed: 0 };
        const pages = (s: number) =>
          Array.from({ length: pagesPer }, (_, i) => s * pagesPer + i);
        // A chunk that ends the context, and decodes at the context's last position.
        const seqs: StepSequence[] = [];
        if (chunk > 0) {
          seqs.push({
            slot: 0,
            start: ctx - chunk,
            tokens: Array.from({ length: chunk }, () => 1),
            pages: pages(0),
            sample: greedy,
          });
        }
        for (let b = 0; b < batch; b++) {
          const s = seqs.length;
          seqs.push({
            slot: s,
            start: ctx - 1,
            tokens: [1],
            pages: pages(s),
            sample: greedy,
          });
        }
        const caps = attentionCaps(H, G, shape, lim, split);
        const T = chunk + batch;
        const buf = (label: string, bytes: number) =>
          storageBuffer(device, label, bytes, maxB);
        const qkv = buf("qkv [T, (H+2G)D] f32", T * (H + 2 * G) * D * 4);
        const q = new Float32Array(T * (H + 2 * G) * D);
        device.queue.writeBuffer(qkv, 0, fillUniform(q, 1, 0, 1) && q);
        const kvElems = numPages * 2 * G * PAGE_SIZE * D;
        const kv = buf(
          `kv [pages, 2, G, 16, D] ${dtype}`,
          kvElems * dtypeBytes(dtype),
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
        const owned: GPUBuffer[] = [qkv, kv, o, part];
        // A step of `list` (the whole step, the chunk alone, or the decodes alone) planned as
        // the engine plans it, with its bind groups and merge.
        const stepOf = (list: StepSequence[]) => {
          const packed = packStep({
            seqs: list.map((sq, slot) => ({ ...sq, slot })),
            logBase: 0,
          }, lim);
          const meta = new Uint32Array(metaWords(lim) + attentionWords(caps));
          meta.set(packed.meta);
          const plan = planAttention(meta, lim, G, shape, caps, split);
          const metaBuf = buf("meta", meta.byteLength);
          owned.push(metaBuf);
          device.queue.writeBuffer(metaBuf, 0, meta);
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
          const gM = bindKernel(device, k.attention_merge, "merge", [
            uniformBuffer(device, "p", attentionMergeParams(D)),
            metaBuf,
            part,
            o,
          ]);
          const merge = (pass: GPUComputePassEncoder) => {
            if (plan.merges > 0) {
              dispatch(
                pass,
                k.attention_merge,
                gM,
                grids.attnMerge(plan.merges),
              );
            }
          };
          const items = (
            pass: GPUComputePassEncoder,
            g: GPUBindGroup,
            n: number,
          ) => {
            if (n > 0) {
              dispatch(pass, k.attention_hybrid, g, grids.attnHybrid(n));
            }
          };
          return { plan, metaBuf, gA: hyb(0), gB: hyb(HDR.NWP), merge, items };
        };
        const whole = stepOf(seqs);
        const { plan, metaBuf, gA, gB, merge } = whole;
        const fusedM = await timeSteady(
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
        let sameM: Steady | null = null;
        let ownM: Steady | null = null;
        if (chunk > 0 && batch > 0) {
          sameM = await timeSteady(
            gpu,
            (pass) => {
              whole.items(pass, gA, plan.prefillItems);
              whole.items(pass, gB, plan.items - plan.prefillItems);
              merge(pass);
            },
            reps,
            runs,
          );
          const pre = stepOf(seqs.slice(0, 1));
          const dec = stepOf(seqs.slice(1));
          ownM = await timeSteady(
            gpu,
            (pass) => {
              pre.items(pass, pre.gA, pre.plan.items);
              pre.merge(pass);
              dec.items(pass, dec.gA, dec.plan.items);
              dec.merge(pass);
            },
            reps,
            runs,
          );
        }
        const serialM = sameM && ownM
          ? (sameM.s <= ownM.s ? sameM : ownM)
          : null;
        let part1: number | null = null;
        if (opts.part1 ?? true) {
          checkLoopBudget(
            gpu.loopBudget,
            `attention.wgsl (part-1 kernel, ctx ${ctx}, D ${D})`,
            loopPasses.attention(ctx, D),
          );
          const g1 = bindKernel(device, k.attention, "part-1", [
            uniformBuffer(device, "p", attentionParams(H, G, D, 0)),
            metaBuf,
            qkv,
            kv,
            o,
          ]);
          part1 = await timePass(
            gpu,
            (pass) => {
              dispatch(pass, k.attention, g1, grids.attention(T, H));
            },
            Math.max(1, Math.floor(reps / 4)),
            runs,
          );
        }
        out.push({
          chunk,
          batch,
          ctx,
          items: plan.items,
          targetItems: split.targetItems,
          geometry: opts.geometry ? JSON.stringify(opts.geometry) : "",
          mixedDecodeScale: split.mixedDecodeScale ?? MIXED_DECODE_SCALE,
          kvBytes: nseq * ctx * 2 * G * D * dtypeBytes(dtype),
          fusedUs: fusedM.s * 1e6,
          serialUs: serialM === null ? null : serialM.s * 1e6,
          serialSameUs: sameM === null ? null : sameM.s * 1e6,
          serialOwnUs: ownM === null ? null : ownM.s * 1e6,
          part1Us: part1 === null ? null : part1 * 1e6,
          spread: Math.max(fusedM.spread, serialM?.spread ?? 0),
        });
        for (const b of owned) b.destroy();
      }
    }
  }
  return out;
}

/** The grid as a Markdown table plus the summary line the fused/serial target is judged by. */
export function renderAttention(
  points: AttentionPoint[],
  copyGBs?: number,
): string {
  const f = (v: number | null) => (v === null ? "-" : v.toFixed(1));
  const lines = [
    "| prefill chunk | decode batch | context | items (target) | KV GB/s (fused) | fused us | serial us (same items / own plans) | fused/serial | repeat | part-1 kernel us | geometry |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const p of points) {
    const gbs = p.kvBytes / (p.fusedUs * 1e3);
    lines.push(
      `| ${p.chunk} | ${p.batch} | ${p.ctx} | ${p.items} (${p.targetItems}) | ${
        gbs.toFixed(0)
      }${copyGBs ? ` (${(100 * gbs / copyGBs).toFixed(0)}%)` : ""} | ${
        f(p.fusedUs)
      } | ${f(p.serialUs)}${
        p.serialSameUs && p.serialOwnUs
          ? ` (${f(p.serialSameUs)} / ${f(p.serialOwnUs)})`
          : ""
      } | ${p.serialUs ? (p.fusedUs / p.serialUs).toFixed(3) : "-"} | ${
        p.spread === undefined ? "-" : repeatCell(p.spread)
      } | ${f(p.part1Us)} | ${p.geometry || "-"} |`,
    );
  }
  const ratios = points.filter((p) => p.serialUs !== null).map((p) =>
    p.fusedUs / p.serialUs!
  ).sort((a, b) => a - b);
  if (ratios.length > 0) {
    lines.push(
      "",
      `fused/serial over ${ratios.length} points: median ${
        ratios[Math.floor(ratios.length / 2)].toFixed(3)
      }, min ${ratios[0].toFixed(3)}, max ${
        ratios[ratios.length - 1].toFixed(3)
      } (issue 14 target: median <= 0.9, never > 1.0)`,
    );
  }
  const unsteady = points.filter((p) => (p.spread ?? 0) > REPEAT_LIMIT);
  if (unsteady.length > 0) {
    lines.push(
      `caution: ${unsteady.length} of ${points.length} points repeat worse than ${
        100 * REPEAT_LIMIT
      } % (!) after four medians each`,
    );
  }
  return lines.join("\n");
}

/**
 * The split target with the least summed time relative to the best target at each (batch, ctx)
 * point of `points` (one run of the same grid per target).
 *
 * @example
 * ```ts
 * import { bestTarget } from "./attention.ts";
 * const p = (targetItems: number, batch: number, fusedUs: number) => ({
 *   chunk: 0, batch, ctx: 1024, items: 8, targetItems, kvBytes: 1, fusedUs, serialUs: null,
 *   part1Us: null,
 * });
 * console.log(bestTarget([p(64, 1, 20), p(64, 16, 30), p(512, 1, 10), p(512, 16, 32)])); // 512
 * ```
 */
export function bestTarget(points: AttentionPoint[]): number {
  const key = (p: AttentionPoint) => `${p.chunk} ${p.batch} ${p.ctx}`;
  const best = new Map<string, number>();
  for (const p of points) {
    best.set(key(p), Math.min(best.get(key(p)) ?? Infinity, p.fusedUs));
  }
  const score = new Map<number, number>();
  for (const p of points) {
    score.set(
      p.targetItems,
      (score.get(p.targetItems) ?? 0) + p.fusedUs / best.get(key(p))!,
    );
  }
  let choice = NaN;
  let least = Infinity;
  for (const [t, v] of score) {
    if (v < least) [choice, least] = [t, v];
  }
  if (!Number.isFinite(choice)) {
    throw new Error(
      "bestTarget: expected at least one attention point, got none",
    );
  }
  return choice;
}

/** The issue's grid: chunks 64/256/512 x batches 4/16/64 x contexts 512/1024/2048. */
export const ATTENTION_GRID = {
  chunks: [64, 256, 512],
  batches: [4, 16, 64],
  ctxs: [512, 1024, 2048],
};

if (import.meta.main) {
  const arg = (name: string, def: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : def;
  };
  const gpu = await requestEngineDevice();
  const cpu = gpu.isFallback;
  const quick = Deno.args.includes("--quick") || cpu;
  const preset = arg("--preset", cpu ? "tiny" : "llama-3.2-1b");
  const grid = Deno.args.includes("--grid")
    ? { ...ATTENTION_GRID, ...JSON.parse(arg("--grid", "{}")) }
    : quick
    ? { chunks: [16, 64], batches: [2, 8], ctxs: [64, 256] }
    : ATTENTION_GRID;
  const runs = Number(arg("--runs", cpu ? "3" : "20"));
  // Copies warm the GPU and surround every timed pass (as device_run.ts's kernels.ts does).
  await heatUp(gpu);
  console.log(
    `# hybrid attention, fused vs serial: ${gpu.description}, preset ${preset}, ${
      gpu.f16 ? "f16" : "f32"
    } KV, median of ${runs} runs, timing by ${
      gpu.timestamps ? "timestamp queries" : "wall clock"
    }\n`,
  );
  console.log(
    renderAttention(
      await benchAttention(gpu, {
        preset,
        grid,
        runs,
        reps: cpu ? 1 : 10,
        part1: !Deno.args.includes("--no-part1"),
        geometry: Deno.args.includes("--geometry")
          ? JSON.parse(arg("--geometry", "{}"))
          : undefined,
        mixedDecodeScale: Deno.args.includes("--mixed-decode-scale")
          ? Number(arg("--mixed-decode-scale", ""))
          : undefined,
        targetItems: Deno.args.includes("--target")
          ? Number(arg("--target", ""))
          : undefined,
      }),
    ),
  );
  gpu.device.destroy();
}
