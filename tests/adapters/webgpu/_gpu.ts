/**
 * Test helpers for running single kernels on the default WebGPU adapter (llvmpipe in CI).
 *
 * @module
 */
import {
  type EngineDevice,
  requestEngineDevice,
} from "../../../adapters/webgpu/step/device.ts";
import { fillUniform } from "../../../adapters/webgpu/model/presets.ts";
import type {
  Grid,
  StorageDtype,
} from "../../../adapters/webgpu/kernels/geometry.ts";
import {
  bindKernel,
  compileKernels,
  dispatch,
  type Kernel,
  type Kernels,
} from "../../../adapters/webgpu/kernels/pipelines.ts";
import {
  readBuffer,
  storageBuffer,
} from "../../../adapters/webgpu/step/gpu_buffers.ts";

let shared: Promise<EngineDevice> | null = null;
const kernelCache = new Map<string, Promise<Kernels>>();

/** One device per test process (creating devices is slow on llvmpipe). */
export function testDevice(): Promise<EngineDevice> {
  shared ??= requestEngineDevice();
  return shared;
}

/**
 * The engine's kernels compiled once per process for `dtype` and work-group block `block`,
 * with the test device.
 */
export async function testKernels(
  dtype: StorageDtype,
  block = 16,
): Promise<{ gpu: EngineDevice; device: GPUDevice; k: Kernels }> {
  const gpu = await testDevice();
  const key = `${dtype}/${block}`;
  if (!kernelCache.has(key)) {
    kernelCache.set(key, compileKernels(gpu.device, dtype, block));
  }
  return { gpu, device: gpu.device, k: await kernelCache.get(key)! };
}

/** The storage dtypes the test device runs: f32, and f16 where it has `shader-f16`. */
export async function testDtypes(): Promise<StorageDtype[]> {
  return (await testDevice()).f16 ? ["f32", "f16"] : ["f32"];
}

/** A storage buffer holding `data` (at least 16 bytes). */
export function bufferOf(
  device: GPUDevice,
  label: string,
  data: ArrayBufferView,
): GPUBuffer {
  const buf = storageBuffer(device, label, data.byteLength, 1 << 30);
  device.queue.writeBuffer(
    buf,
    0,
    data.buffer as ArrayBuffer,
    data.byteOffset,
    data.byteLength,
  );
  return buf;
}

/** Runs one or more kernel dispatches in one compute pass and waits for them. */
export async function runKernels(
  device: GPUDevice,
  steps: { kernel: Kernel; buffers: GPUBuffer[]; grid: Grid }[],
): Promise<void> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const s of steps) {
    dispatch(
      pass,
      s.kernel,
      bindKernel(device, s.kernel, s.kernel.name, s.buffers),
      s.grid,
    );
  }
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
}

/** Reads a buffer as f32. */
export async function readF32(
  device: GPUDevice,
  buf: GPUBuffer,
  n: number,
): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buf, 0, n * 4));
}

/** Reads a buffer as u32. */
export async function readU32(
  device: GPUDevice,
  buf: GPUBuffer,
  n: number,
): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, buf, 0, n * 4));
}

/** Uniform random f32 values in [-scale, scale). */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  return fillUniform(new Float32Array(n), seed, 0, scale);
}

/** Relative RMS error of `got` against `want`. */
export function relErr(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < want.length; i++) {
    e += (got[i] - want[i]) ** 2;
    s += want[i] ** 2;
  }
  return Math.sqrt(e / s);
}
