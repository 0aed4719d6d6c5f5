/**
 * WebGPU device acquisition for the engine: explicit limits and features, and a clear error when
 * the runtime has no adapter.
 *
 * @module
 */
import { probeLoopBudget } from "./loop_budget.ts";

import { prepareGpuEnv } from "./gpu_env.ts";

/** Options of {@link requestEngineDevice}. */
export interface DeviceOptions {
  /** Use f32 storage even when `shader-f16` exists (default false). */
  forceF32?: boolean;
  /** Passed to `requestAdapter` (default `high-performance`). */
  powerPreference?: GPUPowerPreference;
}

/** A device plus what the engine needs to know about it. */
export interface EngineDevice {
  /** The WebGPU device. */
  device: GPUDevice;
  /** Adapter description, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  description: string;
  /** Whether the adapter is a software fallback (llvmpipe). */
  isFallback: boolean;
  /** `shader-f16` enabled on the device (f16 storage, f32 accumulation). */
  f16: boolean;
  /** `timestamp-query` enabled on the device. */
  timestamps: boolean;
  /**
   * Loop passes one shader invocation gets in all its loops, or null when there is no such limit
   * (measured by loop_probe.wgsl when the device is created: 65,535 on Mesa llvmpipe, none on an
   * NVIDIA H200; loop_budget.ts). Kernels are sized or refused against it (kernels/loop_passes.ts).
   */
  loopBudget: number | null;
  /** The limits the device was created with (the adapter's own). */
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

/**
 * Requests an adapter and a device with the adapter's own buffer and workgroup limits, and the
 * `shader-f16` and `timestamp-query` features when the adapter has them; measures the adapter's
 * loop budget (one probe dispatch and readback).
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "./device.ts";
 * const gpu = await requestEngineDevice();
 * console.log(typeof gpu.description, gpu.f16 ? "f16" : "f32", gpu.loopBudget);
 * gpu.device.destroy();
 * ```
 */
export async function requestEngineDevice(
  opts: DeviceOptions = {},
): Promise<EngineDevice> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new Error(
      "No WebGPU: navigator.gpu is undefined (run with Deno >= 2 and, if the version needs it, --unstable-webgpu)",
    );
  }
  prepareGpuEnv();
  const adapter = await gpu.requestAdapter({
    powerPreference: opts.powerPreference ?? "high-performance",
  });
  if (!adapter) {
    throw new Error(
      "No WebGPU adapter found: navigator.gpu.requestAdapter() returned null (install a Vulkan driver; without a GPU, Mesa's lavapipe from mesa-vulkan-drivers)",
    );
  }
  const want: GPUFeatureName[] = [];
  const f16 = adapter.features.has("shader-f16") && !opts.forceF32;
  if (f16) want.push("shader-f16");
  const timestamps = adapter.features.has("timestamp-query");
  if (timestamps) want.push("timestamp-query");
  const a = adapter.limits;
  const limits = {
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxBufferSize: a.maxBufferSize,
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
  };
  const device = await adapter.requestDevice({
    label: "tokentrace-engine",
    requiredFeatures: want,
    requiredLimits: {
      ...limits,
      maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    },
  });
  const info = adapter.info;
  const loopBudget = await probeLoopBudget(device);
  return {
    device,
    description: info.description || info.device || info.vendor ||
      "unknown adapter",
    isFallback:
      (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    f16,
    timestamps,
    loopBudget,
    limits,
  };
}
