/**
 * Helpers of the benchmark scripts: random device buffers, a metadata header, bench-only kernels
 * (the FMA peak), GPU warm-up, a timed row measured until two medians agree (the spread says
 * whether rows repeat), and the floor of a read in a chain of dispatches.
 *
 * @module
 */
import type { EngineDevice } from "../step/device.ts";
import { storageBuffer, uniformBuffer } from "../step/gpu_buffers.ts";
import { GEOMETRY, grids, type StorageDtype } from "../kernels/geometry.ts";
import {
  bindKernel,
  compileKernels,
  dispatch,
  type Kernel,
} from "../kernels/pipelines.ts";
import { fillUniform } from "../model/presets.ts";
import { HDR } from "../batch/step_batch.ts";
import { type BenchRow, timeSteady, useHeater } from "./_timing.ts";

/** A storage buffer of `bytes` filled with a repeated random f32 (or f16) pattern in [-1, 1). */
export function randomBuffer(
  gpu: EngineDevice,
  label: string,
  bytes: number,
  as: StorageDtype = "f32",
): GPUBuffer {
  const device = gpu.device;
  const buf = storageBuffer(
    device,
    label,
    bytes,
    gpu.limits.maxStorageBufferBindingSize,
  );
  const pattern = fillUniform(new Float32Array(1 << 20), bytes, 0, 1);
  const chunk = new Uint8Array(
    as === "f16"
      ? Float16Array.from(pattern).buffer
      : pattern.buffer as ArrayBuffer,
  );
  for (let at = 0; at < buf.size; at += chunk.byteLength) {
    device.queue.writeBuffer(
      buf,
      at,
      chunk,
      0,
      Math.min(chunk.byteLength, buf.size - at),
    );
  }
  return buf;
}

/** A 16-word metadata header holding T and R (enough for the linear kernels). */
export function metaHeader(gpu: EngineDevice, T: number, R: number): GPUBuffer {
  const m = new Uint32Array(16);
  m[HDR.T] = T;
  m[HDR.R] = R;
  const buf = storageBuffer(gpu.device, "bench meta header", 64, 1 << 30);
  gpu.device.queue.writeBuffer(buf, 0, m);
  return buf;
}

/**
 * Times `body` until two medians (each of `runs` passes of `reps`) agree within 5 %, at most four
 * (`timeSteady`), and returns the row.
 */
export async function measure(
  gpu: EngineDevice,
  row: Omit<BenchRow, "seconds" | "spread">,
  body: (pass: GPUComputePassEncoder) => void,
  reps: number,
  runs: number,
): Promise<BenchRow> {
  const { s, spread } = await timeSteady(gpu, body, reps, runs);
  return { ...row, seconds: s, spread };
}

/** Compiles a bench-only kernel (one storage binding after a uniform) from kernels/`file`. */
export async function benchKernel(
  gpu: EngineDevice,
  file: string,
  prelude: string,
): Promise<GPUComputePipeline> {
  const code = prelude +
    await (await fetch(new URL(`../kernels/${file}`, import.meta.url))).text();
  return gpu.device.createComputePipeline({
    label: file,
    layout: "auto",
    compute: {
      module: gpu.device.createShaderModule({ label: file, code }),
      entryPoint: "main",
    },
  });
}

/**
 * Keeps the GPU busy with copies for `ms` milliseconds (clocks ramp up within ~1 s and drop to
 * idle within 1-2 s, docs/ENGINE.md); returns the number of copy dispatches run.
 */
export async function warmGpu(
  gpu: EngineDevice,
  copy: { pipeline: GPUComputePipeline; group: GPUBindGroup; grid: number },
  ms: number,
): Promise<number> {
  const device = gpu.device;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    const enc = device.createCommandEncoder({ label: "warm-up" });
    const pass = enc.beginComputePass();
    pass.setPipeline(copy.pipeline);
    pass.setBindGroup(0, copy.group);
    for (let i = 0; i < 20; i++) pass.dispatchWorkgroups(copy.grid);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    n += 20;
  }
  return n;
}

/** The FMA peak (GFLOP/s) of `ft` arithmetic: f32, or f16 where shader-f16 exists. */
export async function fmaPeak(
  gpu: EngineDevice,
  ft: "f32" | "f16",
  runs: number,
): Promise<BenchRow> {
  const pipeline = await benchKernel(
    gpu,
    "fma_peak.wgsl",
    ft === "f16" ? "enable f16;\nalias FT = f16;\n" : "alias FT = f32;\n",
  );
  const groups = gpu.isFallback ? 64 : 132 * 64;
  const iters = gpu.isFallback ? 256 : 4096;
  const out = storageBuffer(gpu.device, "fma out", groups * 256 * 4, 1 << 30);
  const group = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      {
        binding: 0,
        resource: {
          buffer: uniformBuffer(gpu.device, "fma p", [iters, 0, 0, 0]),
        },
      },
      { binding: 1, resource: { buffer: out } },
    ],
  });
  return measure(
    gpu,
    {
      kernel: `fma peak ${ft} (ceiling)`,
      shape: `${groups} x 256 x ${iters} x 8 vec4`,
      dtype: ft,
      bytes: 0,
      flops: 2 * 4 * 8 * iters * groups * 256,
    },
    (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(groups);
    },
    gpu.isFallback ? 1 : 5,
    runs,
  );
}

/**
 * Warms the GPU with `ms` of copies and registers ~6 ms of copies (0.25 GiB each way) around
 * every timed pass (_timing.ts useHeater), as kernels.ts does: without them the H200's SM clock
 * fell to 345-525 MHz during a sweep of short passes (nvidia-smi, 2026-12-02). Nothing on a
 * software adapter.
 */
export async function heatUp(gpu: EngineDevice, ms = 3000): Promise<void> {
  if (gpu.isFallback) return;
  const device = gpu.device;
  const k = await compileKernels(device, "f32", 64, GEOMETRY, ["copy"]);
  const bytes = 1 << 28;
  const hs = randomBuffer(gpu, "heat src", bytes);
  const hd = storageBuffer(device, "heat dst", bytes, 1 << 30);
  const hg = bindKernel(device, k.copy, "heat", [hs, hd]);
  const hgrid = grids.copy(bytes / 16);
  await warmGpu(
    gpu,
    { pipeline: k.copy.pipeline, group: hg, grid: hgrid[0] },
    ms,
  );
  useHeater((enc) => {
    const pass = enc.beginComputePass({ label: "heat" });
    for (let i = 0; i < 48; i++) dispatch(pass, k.copy, hg, hgrid);
    pass.end();
  });
}

/** What one dispatch of l2_touch.wgsl takes to read `bytes` in a pass of `dispatches` of them. */
export interface ReadFloor {
  bytes: number;
  dispatches: number;
  /** Distinct buffers, one shared sink: a barrier between every two dispatches (from DRAM). */
  dramUs: number;
  /** One buffer read `dispatches` times the same way (after the first, from the L2 if it fits). */
  l2Us: number;
  /** The distinct buffers with a sink each: no barrier between the dispatches. */
  noBarrierUs: number;
  /** The largest spread of the three rows' last two medians (measure). */
  spread: number;
}

/** GB/s of a floor's read from DRAM in the chain (`bytes` over `dramUs`). */
export const readFloorGBs = (f: ReadFloor): number =>
  f.bytes / (f.dramUs * 1e3);

/**
 * The floor of a read of `bytes` in a chain of dependent dispatches, as a decode step's
 * dispatches run (bench/read_sizes.ts): l2_touch over N distinct buffers (N x bytes >=
 * `budget`, 2 <= N <= 64), each writing one shared sink so that every two have a barrier
 * between them; the same over one buffer; and with a sink each (no barrier). `touch` is the
 * compiled l2_touch kernel; the buffers are freed before it returns.
 */
export async function readFloor(
  gpu: EngineDevice,
  touch: Kernel,
  bytes: number,
  runs: number,
  budget: number,
): Promise<ReadFloor> {
  const device = gpu.device;
  const maxB = gpu.limits.maxStorageBufferBindingSize;
  const n = Math.min(64, Math.max(2, Math.ceil(budget / bytes)));
  const bufs = Array.from(
    { length: n },
    (_, j) => randomBuffer(gpu, `read ${bytes} B ${j}`, bytes),
  );
  const sinkOf = () => storageBuffer(device, "read sink", 16, maxB);
  const shared = [sinkOf()];
  const own = bufs.map(sinkOf);
  const grid = grids.touch(bytes);
  const chain = async (srcs: GPUBuffer[], sinks: GPUBuffer[]) => {
    const groups = srcs.map((b, j) =>
      bindKernel(device, touch, "read", [b, sinks[j % sinks.length]])
    );
    const r = await measure(
      gpu,
      { kernel: "read", shape: "", dtype: "u32", bytes: 0, flops: 0 },
      (pass) => {
        for (const g of groups) dispatch(pass, touch, g, grid);
      },
      1,
      runs,
    );
    return { us: (r.seconds / srcs.length) * 1e6, spread: r.spread };
  };
  const dram = await chain(bufs, shared);
  const l2 = await chain(bufs.map(() => bufs[0]), shared);
  const free = await chain(bufs, own);
  for (const b of [...bufs, ...shared, ...own]) b.destroy();
  return {
    bytes,
    dispatches: n,
    dramUs: dram.us,
    l2Us: l2.us,
    noBarrierUs: free.us,
    spread: Math.max(dram.spread, l2.spread, free.spread),
  };
}
