/**
 * Kernel benchmark (`deno task perf:kernels`): the ceilings measured on the adapter (copy
 * bandwidth, FMA peak f32 and f16, the floor of a read of each linear layer's weights in a chain
 * of dispatches), the linear layers at a preset's shapes (bench/_linear.ts:
 * GEMV at every decode shape against the copy bandwidth, the M sweep against the FMA peak),
 * decode attention's KV read bandwidth, and sampling over the vocabulary.
 *
 * Usage: `deno run -A adapters/webgpu/bench/kernels.ts [--preset NAME] [--runs N] [--gemv-s NAMES]
 * [--tiles NAMES [--sweep-m MS]]`
 * (`--gemv-s`: of the linear layers only linear_gemv_s at one row, the GEMV_S_VARIANTS named,
 * comma-separated, with their times per layer and the fastest per layer; `--tiles`: of the linear
 * layers only the tiled matmul's M sweep (gate_up and down) with the TILE_VARIANTS named, at rows
 * MS, comma-separated, default 256,512,2048, with every variant's time and TFLOP/s).
 * Defaults: `llama-3.2-1b` and 10 runs on a GPU; `smollm2-135m` and 3 runs on a software adapter.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseModelConfig } from "../model/config.ts";
import { type EngineDevice, requestEngineDevice } from "../step/device.ts";
import { storageBuffer, uniformBuffer } from "../step/gpu_buffers.ts";
import {
  gemvSVariant,
  GEOMETRY,
  grids,
  type StorageDtype,
  TILE_VARIANTS,
} from "../kernels/geometry.ts";
import { sampleParams } from "../kernels/params.ts";
import { bindKernel, compileKernels, dispatch } from "../kernels/pipelines.ts";
import { PRESET_CONFIGS } from "../model/presets.ts";
import { packStep } from "../batch/step_batch.ts";
import { type AttentionPoint, benchAttention } from "./attention.ts";
import {
  fmaPeak,
  measure,
  randomBuffer,
  type ReadFloor,
  readFloor,
  readFloorGBs,
  warmGpu,
} from "./_gpu.ts";
import {
  benchLinear,
  bestGemvByLayer,
  bestPoints,
  bestTiled,
  type LinearBenchOptions,
  type LinearPoint,
  linearShapes,
} from "./_linear.ts";
import { type BenchRow, renderTable, useHeater } from "./_timing.ts";

/** What {@link benchKernels} measured. */
export interface KernelBench {
  adapter: string;
  preset: string;
  dtype: StorageDtype;
  warmupDispatches: number;
  ceilings: { copyGBs: number; fmaF32GFs: number; fmaF16GFs: number | null };
  /**
   * The floor of a read of each linear layer's weights (by `linearShapes` name) in a chain of
   * dependent dispatches, and of a dispatch that reads nothing ("empty"): _gpu.ts readFloor.
   */
  readFloors: { name: string; floor: ReadFloor }[];
  rows: BenchRow[];
  linear: LinearPoint[];
  decodeAttention: AttentionPoint[];
}

/** Runs the ceilings, linear, decode-attention and sampling benchmarks of `preset`. */
export async function benchKernels(
  gpu: EngineDevice,
  preset: string,
  runs: number,
  linearOpts: Partial<LinearBenchOptions> = {},
): Promise<KernelBench> {
  const device = gpu.device;
  const cpu = gpu.isFallback;
  const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
  const dtype: StorageDtype = gpu.f16 ? "f16" : "f32";
  const k32 = await compileKernels(device, "f32", cfg.headDim, undefined, [
    "copy",
    "l2_touch",
  ]);
  const rows: BenchRow[] = [];
  // Ceilings, after a warm-up of copies (clocks ramp within ~1 s of load).
  const copyBytes = cpu ? 32 << 20 : 1 << 30;
  const src = randomBuffer(gpu, "copy src", copyBytes);
  const dst = storageBuffer(
    device,
    "copy dst",
    copyBytes,
    gpu.limits.maxStorageBufferBindingSize,
  );
  const copyGroup = bindKernel(device, k32.copy, "copy", [src, dst]);
  const copyGrid = grids.copy(copyBytes / 16);
  const warmupDispatches = await warmGpu(gpu, {
    pipeline: k32.copy.pipeline,
    group: copyGroup,
    grid: copyGrid[0],
  }, cpu ? 200 : 3000);
  // Heat for the timed passes: ~6 ms of copies (0.25 GiB each way) before and after each one.
  if (!cpu) {
    const hs = randomBuffer(gpu, "heat src", 1 << 28);
    const hd = storageBuffer(device, "heat dst", 1 << 28, 1 << 30);
    const hg = bindKernel(device, k32.copy, "heat", [hs, hd]);
    const hgrid = grids.copy((1 << 28) / 16);
    useHeater((enc) => {
      const pass = enc.beginComputePass({ label: "heat" });
      for (let i = 0; i < 48; i++) dispatch(pass, k32.copy, hg, hgrid);
      pass.end();
    });
  }
  const copyRow = await measure(
    gpu,
    {
      kernel: "copy (ceiling)",
      shape: `${copyBytes >> 20} MiB`,
      dtype: "f32",
      bytes: 2 * copyBytes,
      flops: 0,
    },
    (pass) => dispatch(pass, k32.copy, copyGroup, copyGrid),
    cpu ? 1 : 10,
    runs,
  );
  rows.push(copyRow);
  src.destroy();
  dst.destroy();
  const f32 = await fmaPeak(gpu, "f32", runs);
  rows.push(f32);
  const f16 = gpu.f16 ? await fmaPeak(gpu, "f16", runs) : null;
  if (f16) rows.push(f16);
  const ceilings = {
    copyGBs: copyRow.bytes / copyRow.seconds / 1e9,
    fmaF32GFs: f32.flops / f32.seconds / 1e9,
    fmaF16GFs: f16 ? f16.flops / f16.seconds / 1e9 : null,
  };
  // What a dispatch in a chain can read at each layer's weight bytes: the GEMV's floor.
  const readFloors: KernelBench["readFloors"] = [];
  const budget = cpu ? 8 << 20 : 150e6;
  for (const s of linearShapes(cfg)) {
    const bytes = s.N * s.K * (dtype === "f16" ? 2 : 4);
    readFloors.push({
      name: s.name,
      floor: await readFloor(gpu, k32.l2_touch, bytes, runs, budget),
    });
  }
  readFloors.push({
    name: "empty",
    floor: await readFloor(gpu, k32.l2_touch, 16, runs, budget),
  });
  // Linear layers.
  const linear = await benchLinear(gpu, { cfg, dtype, runs, ...linearOpts });
  rows.push(...bestPoints(linear).map((p) => p.row));
  // Decode attention: KV read bandwidth at long contexts (one layer).
  const decodeAttention = await benchAttention(gpu, {
    preset,
    grid: cpu
      ? { chunks: [0], batches: [1, 4], ctxs: [256] }
      : { chunks: [0], batches: [1, 16, 64], ctxs: [1024, 2048, 4096] },
    runs,
    reps: cpu ? 1 : 10,
    part1: !cpu,
  });
  // Sampling over the vocabulary.
  const k = await compileKernels(device, dtype, cfg.headDim, undefined, [
    "sample",
    "sample_blocks",
  ]);
  const V = cfg.vocab;
  for (const [R, temperature] of [[1, 0], [64, 0], [1, 0.8], [64, 0.8]]) {
    if (cpu && R > 4) continue;
    const packed = packStep({
      seqs: Array.from({ length: R }, (_, i) => ({
        slot: i,
        start: 0,
        tokens: [1],
        pages: [i],
        sample: { temperature, topP: 1, seed: i },
      })),
      logBase: 0,
    }, {
      maxTokens: R,
      maxSeqs: R,
      numPages: R,
      vocab: V,
      maxContext: 16,
      logSize: R,
    });
    const meta = storageBuffer(device, "meta", packed.meta.byteLength, 1 << 30);
    device.queue.writeBuffer(meta, 0, packed.meta);
    const p = uniformBuffer(device, "p", sampleParams(V));
    const logits = randomBuffer(gpu, "logits", R * V * 4);
    const part = storageBuffer(device, "part", R * 256 * 16, 1 << 30);
    const last = storageBuffer(device, "last", R * 4, 1 << 30);
    const log = storageBuffer(device, "log", R * 4, 1 << 30);
    const lp = storageBuffer(device, "logprobs", R * 4, 1 << 30);
    const gB = bindKernel(device, k.sample_blocks, "sb", [
      p,
      meta,
      logits,
      part,
    ]);
    const gS = bindKernel(device, k.sample, "s", [
      p,
      meta,
      logits,
      part,
      last,
      log,
      lp,
    ]);
    rows.push(
      await measure(
        gpu,
        {
          kernel: `sample ${
            temperature ? `temperature ${temperature}` : "greedy"
          }`,
          shape: `R=${R} V=${V}`,
          dtype: "f32",
          bytes: R * V * 4 * (temperature ? 2 : 1),
          flops: 0,
        },
        (pass) => {
          dispatch(pass, k.sample_blocks, gB, grids.sampleBlocks(V, R));
          dispatch(pass, k.sample, gS, grids.sample(R));
        },
        cpu ? 1 : 20,
        runs,
      ),
    );
    for (const b of [meta, p, logits, part, last, log]) b.destroy();
  }
  return {
    adapter: gpu.description,
    preset,
    dtype,
    warmupDispatches,
    ceilings,
    readFloors,
    rows,
    linear,
    decodeAttention,
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      preset: { type: "string" },
      runs: { type: "string" },
      "gemv-s": { type: "string" },
      tiles: { type: "string" },
      "sweep-m": { type: "string" },
    },
  });
  const gpu = await requestEngineDevice();
  const cpu = gpu.isFallback;
  const preset = args.preset ?? (cpu ? "smollm2-135m" : "llama-3.2-1b");
  if (!(preset in PRESET_CONFIGS)) {
    throw new Error(`--preset: unknown preset ${JSON.stringify(preset)}`);
  }
  // --gemv-s NAMES: of the linear layers only linear_gemv_s at one row, these variants.
  const gemvS = args["gemv-s"]?.split(",");
  for (const v of gemvS ?? []) gemvSVariant(v);
  // --tiles NAMES: of the linear layers only the tiled M sweep, these variants.
  const tiles = args.tiles?.split(",");
  for (const v of tiles ?? []) {
    if (!(v in TILE_VARIANTS)) {
      throw new Error(
        `--tiles: unknown tile variant ${JSON.stringify(v)}, expected one of ${
          Object.keys(TILE_VARIANTS).join(", ")
        }`,
      );
    }
  }
  const sweepM = (args["sweep-m"] ?? "256,512,2048").split(",").map(Number);
  if (sweepM.some((m) => !Number.isInteger(m) || m <= GEOMETRY.GEMV_MB)) {
    throw new Error(
      `--sweep-m: expected row counts > ${GEOMETRY.GEMV_MB} (the tiled matmul's), got ${
        args["sweep-m"]
      }`,
    );
  }
  const r = await benchKernels(
    gpu,
    preset,
    Number(args.runs ?? (cpu ? 3 : 10)),
    gemvS
      ? { gemvVariants: [], gemvSVariants: gemvS, tileVariants: [], sweepM: [] }
      : tiles
      ? { gemvVariants: [], gemvSVariants: [], tileVariants: tiles, sweepM }
      : {},
  );
  console.log(
    `# tokentrace kernel benchmark: ${r.adapter} (${
      cpu ? "software" : "GPU"
    }), storage ${r.dtype}, preset ${preset}; GPU warmed with ${r.warmupDispatches} copy dispatches first; each row timed until two medians agree within 5 %, at most four (median of ${
      args.runs ?? (cpu ? 3 : 10)
    } runs each, the lower of the last two shown, "repeat" = their spread), timestamp queries`,
  );
  console.log(
    `# ceilings: copy ${
      r.ceilings.copyGBs.toFixed(1)
    } GB/s (read+write), FMA f32 ${
      r.ceilings.fmaF32GFs.toFixed(0)
    } GFLOP/s, f16 ${r.ceilings.fmaF16GFs?.toFixed(0) ?? "-"} GFLOP/s`,
  );
  console.log(
    `# read floors (one l2_touch dispatch after a barrier, us; % of copy): ${
      r.readFloors.map(({ name, floor: f }) =>
        `${name} ${f.dramUs.toFixed(2)}` +
        (f.bytes > 16
          ? ` (${(100 * readFloorGBs(f) / r.ceilings.copyGBs).toFixed(0)} %)`
          : "")
      ).join(", ")
    }`,
  );
  console.log(renderTable(r.rows, r.ceilings.copyGBs, r.ceilings.fmaF32GFs));
  if (gemvS) {
    // Every variant's one-row time per layer, and the fastest per layer.
    const { numLayers } = parseModelConfig(PRESET_CONFIGS[preset], preset);
    const us = new Map<string, Record<string, string>>();
    for (const p of r.linear) {
      const row = us.get(p.variant) ?? {};
      const gbs = p.row.bytes / p.row.seconds / 1e9;
      row[p.shape] = `${(p.row.seconds * 1e6).toFixed(1)} us ${
        (100 * gbs / r.ceilings.copyGBs).toFixed(0)
      } %`;
      us.set(p.variant, row);
    }
    console.log(JSON.stringify(Object.fromEntries(us), null, 1));
    console.log(JSON.stringify(bestGemvByLayer(r.linear, numLayers), null, 1));
  }
  if (tiles) {
    // Every tiled point: us and TFLOP/s by kernel, variant, shape and M; the engine's choice.
    for (const p of r.linear) {
      if (p.kernel.startsWith("linear_gemv")) continue;
      console.log(
        `tiled ${p.kernel} [${p.variant}] ${p.shape} M=${p.M}: ${
          (p.row.seconds * 1e6).toFixed(1)
        } us, ${(p.row.flops / p.row.seconds / 1e12).toFixed(2)} TFLOP/s`,
      );
    }
    for (const M of sweepM) {
      console.log(`best at M=${M}: ${JSON.stringify(bestTiled(r.linear, M))}`);
    }
  }
  gpu.device.destroy();
}
