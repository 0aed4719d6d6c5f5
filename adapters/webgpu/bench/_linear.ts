/**
 * Linear-layer benchmarks: the GEMV at every decode shape of a preset (M = 1 and 8, each
 * launch-geometry variant) against the copy bandwidth, and the row sweep M = 1 .. 2048 of the
 * gate_up and down shapes (GEMV up to 2 GEMV_NARROW_M rows, every tiled variant past GEMV_MB) against the FMA
 * peak: the cliff, if any, shows as a jump in microseconds from one M to the next.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { EngineDevice } from "../step/device.ts";
import {
  dtypeBytes,
  storageBuffer,
  uniformBuffer,
} from "../step/gpu_buffers.ts";
import {
  GEMV_S_VARIANTS,
  GEMV_VARIANTS,
  type GemvShape,
  GEOMETRY,
  type Geometry,
  grids,
  MAX_GRID_DIM,
  type StorageDtype,
  TILE_VARIANTS,
  tiledSplit,
} from "../kernels/geometry.ts";
import { LINEAR_FLAGS, linearParams } from "../kernels/params.ts";
import {
  bindKernel,
  compileKernels,
  dispatch,
  type Kernel,
} from "../kernels/pipelines.ts";
import { HDR } from "../batch/step_batch.ts";
import { measure, metaHeader, randomBuffer } from "./_gpu.ts";
import type { BenchRow } from "./_timing.ts";

/** A linear shape of the model: N outputs, K inputs, flags (SILU_MUL doubles the input row). */
interface Shape {
  name: string;
  N: number;
  K: number;
  flags: number;
}

/** The preset's linear shapes (decode order). */
export function linearShapes(cfg: ModelConfig): Shape[] {
  const { hidden: C, numHeads: H, numKvHeads: G, headDim: D } = cfg;
  const { SILU_MUL, RESIDUAL } = LINEAR_FLAGS;
  return [
    { name: "qkv", N: (H + 2 * G) * D, K: C, flags: 0 },
    { name: "o (+res)", N: C, K: H * D, flags: RESIDUAL },
    { name: "gate_up", N: 2 * cfg.intermediate, K: C, flags: 0 },
    {
      name: "down (silu-mul, +res)",
      N: C,
      K: cfg.intermediate,
      flags: SILU_MUL | RESIDUAL,
    },
    { name: "lm_head", N: cfg.vocab, K: C, flags: 0 },
  ];
}

/** The linear kernels the benchmark times. */
type LinearKernel =
  | "linear_gemv"
  | "linear_gemv_s"
  | "linear_tiled"
  | "linear_tiled_h"
  | "linear_reduce";

/** Rows at which every linear_gemv variant is timed at every decode shape. */
export const GEMV_DECODE_M = [1, 4, 16];

/** One variant's result at one (shape, M). */
export interface LinearPoint {
  shape: string;
  M: number;
  kernel: LinearKernel;
  variant: string;
  row: BenchRow;
}

/** Options of {@link benchLinear}. */
export interface LinearBenchOptions {
  cfg: ModelConfig;
  dtype: StorageDtype;
  runs: number;
  /** Rows of the sweep (default 4 .. 2048 on a GPU, a few on a software adapter). */
  sweepM?: number[];
  /** Names of GEMV_VARIANTS / GEMV_S_VARIANTS / TILE_VARIANTS to run (default all). */
  gemvVariants?: string[];
  gemvSVariants?: string[];
  tileVariants?: string[];
}

/** Runs the GEMV decode shapes and the M sweep; every variant's point is returned. */
export async function benchLinear(
  gpu: EngineDevice,
  opts: LinearBenchOptions,
): Promise<LinearPoint[]> {
  const { cfg, dtype, runs } = opts;
  const cpu = gpu.isFallback;
  const wb = dtypeBytes(dtype);
  const compiled = new Map<string, Kernel>();
  const kernelOf = async (
    name: LinearKernel,
    variant: string,
    geo: Geometry,
  ) => {
    const key = `${name} ${variant}`;
    if (!compiled.has(key)) {
      const k = await compileKernels(gpu.device, dtype, cfg.headDim, geo, [
        name,
      ]);
      compiled.set(key, k[name]!);
    }
    return compiled.get(key)!;
  };
  const shapes = linearShapes(cfg);
  const maxK = Math.max(...shapes.map((s) => s.K));
  const maxM = 2048;
  const x = randomBuffer(gpu, "x", maxM * 2 * maxK * 4);
  const sweepN = Math.max(
    ...shapes.filter((s) => s.name !== "lm_head").map((s) => s.N),
  );
  const y = storageBuffer(
    gpu.device,
    "y",
    Math.max(cfg.vocab * GEOMETRY.GEMV_NARROW_M, sweepN * maxM) * 4,
    gpu.limits.maxStorageBufferBindingSize,
  );
  const dummy = storageBuffer(gpu.device, "dummy", 16, 1 << 30);
  const part = storageBuffer(
    gpu.device,
    "split-K partials",
    // S * tiles <= SPLIT_TARGET where S > 1, tiles of at most 128 x 128 outputs.
    GEOMETRY.SPLIT_TARGET * 128 * 128 * 4,
    gpu.limits.maxStorageBufferBindingSize,
  );
  const weights = new Map<string, GPUBuffer>();
  const points: LinearPoint[] = [];
  const one = async (
    s: Shape,
    M: number,
    kernel: Kernel,
    variant: string,
    geo: Geometry,
    reduce?: Kernel,
  ) => {
    if (!weights.has(s.name)) {
      weights.set(
        s.name,
        randomBuffer(gpu, `w ${s.name}`, s.N * s.K * wb, dtype),
      );
    }
    const XS = s.flags & LINEAR_FLAGS.SILU_MUL ? 2 * s.K : s.K;
    // With `reduce`: the split over K (KSPLIT partials in `part`, then linear_reduce into y).
    const flags = s.flags | (reduce ? LINEAR_FLAGS.KSPLIT : 0);
    const p = uniformBuffer(
      gpu.device,
      "p",
      linearParams(s.N, s.K, XS, flags, HDR.T),
    );
    const meta = metaHeader(gpu, M, 0);
    const reduceGroup = reduce &&
      bindKernel(gpu.device, reduce, `${s.name} M=${M} reduce`, [
        p,
        meta,
        part,
        dummy,
        y,
      ]);
    const group = bindKernel(gpu.device, kernel, `${s.name} M=${M}`, [
      p,
      meta,
      x,
      weights.get(s.name)!,
      dummy,
      dummy,
      reduce ? part : y,
    ]);
    const grid = kernel.name === "linear_gemv_s"
      ? grids.gemvS(s.N, geo, M)
      : kernel.name === "linear_gemv"
      ? grids.gemv(s.N, geo, M)
      : grids.tiled(M, s.N, geo, reduce ? s.K : 0);
    // A grid WebGPU cannot run (e.g. one column per workgroup over the LM head) is not timed.
    if (grid.some((n) => n > MAX_GRID_DIM)) return;
    const flops = 2 * M * s.N * s.K;
    const reps = cpu
      ? 1
      : Math.max(2, Math.min(50, Math.round(2e9 / (flops + 1e8))));
    const row = await measure(
      gpu,
      {
        kernel: `${kernel.name} ${s.name}`,
        shape: `M=${M} N=${s.N} K=${s.K} [${variant}]`,
        dtype,
        bytes: s.N * s.K * wb + M * XS * 4 +
          M * s.N * 4 * (s.flags & LINEAR_FLAGS.RESIDUAL ? 2 : 1),
        flops,
      },
      (pass) => {
        dispatch(pass, kernel, group, grid);
        if (reduce) {
          dispatch(pass, reduce, reduceGroup!, grids.reduce(M, s.N));
        }
      },
      reps,
      runs,
    );
    points.push({
      shape: s.name,
      M,
      kernel: kernel.name as LinearKernel,
      variant,
      row,
    });
  };
  const pick = <T>(all: Record<string, T>, names: string[]) =>
    Object.fromEntries(names.map((n) => [n, all[n]]));
  const gemvVariants = cpu
    ? { "r8 l32": {} }
    : pick(GEMV_VARIANTS, opts.gemvVariants ?? Object.keys(GEMV_VARIANTS));
  const tileVariants = cpu
    ? { "64x64x16 4x4": {}, "32x64x16 4x4": TILE_VARIANTS["32x64x16 4x4"] }
    : pick(TILE_VARIANTS, opts.tileVariants ?? Object.keys(TILE_VARIANTS));
  // GEMV at the decode shapes, M = 1, 4 and 16 (one row is linear_gemv_s's in the engine).
  for (const [variant, over] of Object.entries(gemvVariants)) {
    const geo = { ...GEOMETRY, ...over };
    const kernel = await kernelOf("linear_gemv", variant, geo);
    for (const s of cpu ? shapes.slice(0, 2) : shapes) {
      for (const M of GEMV_DECODE_M) {
        await one(s, M, kernel, variant, geo);
      }
    }
  }
  // The few-rows GEMV at the decode shapes, M = 1 .. GEMV_SMB.
  const gemvSVariants = cpu
    ? { "s r4 l64": {} }
    : pick(GEMV_S_VARIANTS, opts.gemvSVariants ?? Object.keys(GEMV_S_VARIANTS));
  for (const [variant, over] of Object.entries(gemvSVariants)) {
    const geo = { ...GEOMETRY, ...over };
    const kernel = await kernelOf("linear_gemv_s", variant, geo);
    for (const s of cpu ? shapes.slice(0, 2) : shapes) {
      await one(s, GEOMETRY.GEMV_SMB, kernel, variant, geo);
    }
  }
  // The M sweep of gate_up and down: GEMV (slices of GEMV_MB rows) up to 2 GEMV_NARROW_M, every
  // tiled variant past GEMV_MB.
  const sweep = opts.sweepM ??
    (cpu ? [4, 16, 64] : [4, 12, 16, 32, 64, 128, 256, 512, 2048]);
  for (
    const s of shapes.filter((s) =>
      s.name.startsWith("gate_up") || s.name.startsWith("down")
    )
  ) {
    for (const M of sweep) {
      if (M <= 2 * GEOMETRY.GEMV_NARROW_M) {
        const kernel = await kernelOf("linear_gemv", "r8 l32", GEOMETRY);
        if (!GEMV_DECODE_M.includes(M)) {
          await one(s, M, kernel, "r8 l32", GEOMETRY);
        }
      }
      if (M <= GEOMETRY.GEMV_MB) continue;
      for (const [variant, over] of Object.entries(tileVariants)) {
        const geo = { ...GEOMETRY, ...over };
        for (
          const name of dtype === "f16"
            ? ["linear_tiled", "linear_tiled_h"] as const
            : ["linear_tiled"] as const
        ) {
          const kernel = await kernelOf(name, variant, geo);
          await one(s, M, kernel, variant, geo);
          // Narrow layers: the split over K where the engine takes it.
          if (
            s.N <= GEOMETRY.GEMV_NARROW_N && tiledSplit(M, s.N, s.K, geo) > 1
          ) {
            const reduce = await kernelOf("linear_reduce", variant, geo);
            await one(s, M, kernel, `${variant} split-K`, geo, reduce);
          }
        }
      }
    }
  }
  for (const b of [x, y, dummy, part, ...weights.values()]) b.destroy();
  return points;
}

/**
 * The tiled kernel and geometry with the least time over the swept shapes at row count M (the
 * engine's choice for large steps), or null when none ran there.
 */
export function bestTiled(
  points: LinearPoint[],
  M: number,
): { kernel: LinearPoint["kernel"]; variant: string; seconds: number } | null {
  const sums = new Map<string, number>();
  for (const p of points) {
    if (
      p.M !== M || p.kernel.startsWith("linear_gemv") ||
      p.variant.endsWith("split-K")
    ) continue;
    const key = `${p.kernel}|${p.variant}`;
    sums.set(key, (sums.get(key) ?? 0) + p.row.seconds);
  }
  let best: [string, number] | null = null;
  for (const e of sums) if (!best || e[1] < best[1]) best = e;
  if (!best) return null;
  const [kernel, variant] = best[0].split("|");
  return {
    kernel: kernel as LinearPoint["kernel"],
    variant,
    seconds: best[1],
  };
}

/**
 * The geometry (a variant name) of a GEMV kernel with the least time of one decode step at rows
 * `ms`: each layer shape counted numLayers times, the LM head once (the engine's choice), over
 * the variants timed at every decode shape and row count; null when none was.
 */
export function bestGemv(
  points: LinearPoint[],
  kernel: "linear_gemv" | "linear_gemv_s",
  ms: number[],
  numLayers: number,
): { variant: string; seconds: number } | null {
  const sums = new Map<string, { s: number; n: number }>();
  for (const p of points) {
    if (p.kernel !== kernel || !ms.includes(p.M) || !DECODE.has(p.shape)) {
      continue;
    }
    const e = sums.get(p.variant) ?? { s: 0, n: 0 };
    e.s += p.row.seconds * (p.shape === "lm_head" ? 1 : numLayers);
    e.n++;
    sums.set(p.variant, e);
  }
  let best: { variant: string; seconds: number } | null = null;
  for (const [variant, { s, n }] of sums) {
    if (n !== DECODE.size * ms.length) continue;
    if (!best || s < best.seconds) best = { variant, seconds: s };
  }
  return best;
}

/** The engine's layer (EngineOptions.linear.gemvS) of each decode shape of linearShapes. */
export const LAYER_OF_SHAPE: Record<string, GemvShape> = {
  qkv: "qkv",
  "o (+res)": "o",
  gate_up: "gateUp",
  "down (silu-mul, +res)": "down",
  lm_head: "lmHead",
};

/**
 * The linear_gemv_s geometry (a variant name) with the least time at one row for each layer
 * (the engine's per-layer choice), and the GEMV time of one decode step with them (each layer
 * shape numLayers times, the LM head once).
 */
export function bestGemvByLayer(
  points: LinearPoint[],
  numLayers: number,
): {
  layers: Partial<Record<GemvShape, { variant: string; seconds: number }>>;
  stepSeconds: number;
} {
  const layers: Partial<
    Record<GemvShape, { variant: string; seconds: number }>
  > = {};
  for (const p of points) {
    const layer = LAYER_OF_SHAPE[p.shape];
    if (p.kernel !== "linear_gemv_s" || p.M !== 1 || !layer) continue;
    const b = layers[layer];
    if (!b || p.row.seconds < b.seconds) {
      layers[layer] = { variant: p.variant, seconds: p.row.seconds };
    }
  }
  let stepSeconds = 0;
  for (const [layer, b] of Object.entries(layers)) {
    stepSeconds += b.seconds * (layer === "lmHead" ? 1 : numLayers);
  }
  return { layers, stepSeconds };
}

/** The decode shapes (linearShapes' names) every GEMV variant is timed at. */
const DECODE = new Set([
  "qkv",
  "o (+res)",
  "gate_up",
  "down (silu-mul, +res)",
  "lm_head",
]);

/** The fastest variant at each (kernel, shape, M). */
export function bestPoints(points: LinearPoint[]): LinearPoint[] {
  const best = new Map<string, LinearPoint>();
  for (const p of points) {
    const key = `${p.kernel} ${p.shape} ${p.M}`;
    const b = best.get(key);
    if (!b || p.row.seconds < b.row.seconds) best.set(key, p);
  }
  return [...best.values()];
}
