/**
 * The adapter's per-invocation loop budget, measured by running loop_probe.wgsl once when the
 * engine's device is created. Kernels whose loops grow with the model or the context are sized or
 * refused against it (kernels/loop_passes.ts).
 *
 * Measured 2026-12-01 (Deno 2.9.6): Mesa llvmpipe (LLVM 15.0.6, 256 bits) runs a probe loop asked
 * for 2^18 iterations 65,535 times, and a second loop asked for 64 iterations once after a first
 * of 65,534 (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS, one counter per invocation shared by all its
 * loops); an NVIDIA H200 through Vulkan runs both in full (no budget).
 *
 * @module
 */
import { uniformBuffer } from "./gpu_buffers.ts";

/** Iterations the budget probe asks of its first loop: budgets at or above it read as none. */
export const PROBE_ITERATIONS = 1 << 18;

/** Iterations the two loops of loop_probe.wgsl ran. */
export interface LoopProbeResult {
  a: number;
  b: number;
}

let probeSource: Promise<string> | null = null;

/**
 * Runs loop_probe.wgsl once: loop A asked for `a` iterations, then loop B for `b`, in one
 * invocation; returns how many each ran.
 *
 * @example
 * ```ts
 * import { runLoopProbe } from "./loop_budget.ts";
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * console.log(await runLoopProbe(device, 10, 3)); // { a: 10, b: 3 }
 * device.destroy();
 * ```
 */
export async function runLoopProbe(
  device: GPUDevice,
  a: number,
  b: number,
): Promise<LoopProbeResult> {
  probeSource ??= fetch(new URL("../kernels/loop_probe.wgsl", import.meta.url))
    .then((r) => r.text());
  const module = device.createShaderModule({
    label: "loop_probe.wgsl",
    code: await probeSource,
  });
  const pipeline = device.createComputePipeline({
    label: "loop_probe",
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const params = uniformBuffer(device, "loop probe params", [a, b, 0, 0]);
  const out = device.createBuffer({
    label: "loop probe out [4] u32",
    size: 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    label: "loop probe readback [4] u32",
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder({ label: "loop probe" });
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: out } },
      ],
    }),
  );
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, 16);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Uint32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const buf of [params, out, read]) buf.destroy();
  return { a: got[0], b: got[1] };
}

/**
 * The adapter's loop budget: the passes one invocation's loops get in all, or null when a loop
 * of {@link PROBE_ITERATIONS} iterations runs in full.
 *
 * @example
 * ```ts
 * import { probeLoopBudget } from "./loop_budget.ts";
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const budget = await probeLoopBudget(device);
 * console.log(budget === null || budget > 0); // true
 * device.destroy();
 * ```
 */
export async function probeLoopBudget(
  device: GPUDevice,
): Promise<number | null> {
  const { a } = await runLoopProbe(device, PROBE_ITERATIONS, 1);
  return a >= PROBE_ITERATIONS ? null : a;
}
