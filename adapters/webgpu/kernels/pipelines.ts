/**
 * Compiles the WGSL kernels (with the geometry prelude) into compute pipelines with explicit bind
 * group layouts, and offers small helpers to bind and dispatch them.
 *
 * @module
 */
import { headVecWgsl } from "./head_vec.ts";
import {
  checkGemvGeometry,
  checkHybridGeometry,
  checkTileGeometry,
  GEOMETRY,
  type Geometry,
  type Grid,
  MAX_GRID_DIM,
  ropeGemvFits,
  shaderPrelude,
  smallGemvGeometry,
  type StorageDtype,
} from "./geometry.ts";

/** Binding kinds of a kernel, in binding order. */
type Slot = "uniform" | "read" | "rw";

/** Every kernel: its file and its bindings (at most 8 storage bindings each). */
export const KERNEL_BINDINGS = {
  embed: ["uniform", "read", "read", "read", "rw"],
  rmsnorm: ["uniform", "read", "read", "read", "rw"],
  linear_gemv: ["uniform", "read", "read", "read", "read", "read", "rw"],
  linear_gemv_s: ["uniform", "read", "read", "read", "read", "read", "rw"],
  // linear_gemv_s with rope_kv's epilogue (gemv_rope.wgsl): inv_freq and the layer's KV cache.
  linear_gemv_rope: [
    "uniform",
    "read",
    "read",
    "read",
    "read",
    "read",
    "rw",
    "read",
    "rw",
  ],
  linear_tiled: ["uniform", "read", "read", "read", "read", "read", "rw"],
  linear_tiled_h: ["uniform", "read", "read", "read", "read", "read", "rw"],
  linear_reduce: ["uniform", "read", "read", "read", "rw"],
  rope_kv: ["uniform", "read", "read", "rw", "rw"],
  attention: ["uniform", "read", "read", "read", "rw"],
  attention_hybrid: ["uniform", "read", "read", "read", "rw", "rw"],
  attention_merge: ["uniform", "read", "read", "rw"],
  sample_blocks: ["uniform", "read", "read", "rw"],
  sample: ["uniform", "read", "read", "read", "rw", "rw", "rw"],
  copy: ["read", "rw"],
  l2_touch: ["read", "rw"],
} as const satisfies Record<string, readonly Slot[]>;

/** Kernel names. */
export type KernelName = keyof typeof KERNEL_BINDINGS;

/** A compiled kernel. */
export interface Kernel {
  name: KernelName;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Kernels compiled only with f16 storage (they do f16 arithmetic). */
export const F16_ONLY: readonly KernelName[] = ["linear_tiled_h"];

/**
 * Kernels compiled on their own, with a layer's geometry (compileGemvRope), not by
 * compileKernels.
 */
const OWN_COMPILE: readonly KernelName[] = ["linear_gemv_rope"];

/** All compiled kernels of one storage dtype (`linear_tiled_h` with f16 only). */
export type Kernels =
  & Record<Exclude<KernelName, "linear_tiled_h" | "linear_gemv_rope">, Kernel>
  & { linear_tiled_h?: Kernel };

/** Kernels compiled from another kernel's file (with their own geometry, see compileKernels). */
const SOURCE_OF: Partial<Record<KernelName, KernelName>> = {
  linear_gemv_s: "linear_gemv",
  linear_gemv_rope: "linear_gemv",
};

/** The WGSL of a file beside this module. */
async function readWgsl(file: string): Promise<string> {
  const res = await fetch(new URL(`./${file}.wgsl`, import.meta.url));
  if (!res.ok) {
    throw new Error(
      `Kernel ${file}.wgsl: could not be read (HTTP ${res.status})`,
    );
  }
  return await res.text();
}

/** rope_store for the compilations of linear_gemv.wgsl without GEMV_ROPE (never called). */
const ROPE_STUB = "fn rope_store(n: u32, v: f32, pv: f32) {}\n";

/**
 * Reads a kernel's WGSL source (a file beside this module); linear_gemv.wgsl's compilations get
 * GEMV_ROPE and rope_store (gemv_rope.wgsl for `linear_gemv_rope`, else a stub), linear_tiled's
 * and linear_tiled_h's their staging (tiled_stage.wgsl).
 */
export async function kernelSource(name: KernelName): Promise<string> {
  const file = SOURCE_OF[name] ?? name;
  const text = await readWgsl(file);
  if (file === "linear_tiled" || file === "linear_tiled_h") {
    return text + "\n" + await readWgsl("tiled_stage");
  }
  if (file !== "linear_gemv") return text;
  const rope = name === "linear_gemv_rope";
  return `const GEMV_ROPE: u32 = ${rope ? 1 : 0}u;\n` + text +
    (rope ? await readWgsl("gemv_rope") : ROPE_STUB);
}

/** The bind group layout of a kernel's bindings (KERNEL_BINDINGS). */
function layoutOf(
  device: GPUDevice,
  slots: readonly Slot[],
): GPUBindGroupLayout {
  const key = slots.join(",");
  return device.createBindGroupLayout({
    label: `layout:${key}`,
    entries: slots.map((s, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: {
        type: s === "uniform"
          ? "uniform"
          : s === "read"
          ? "read-only-storage"
          : "storage",
      },
    })),
  });
}

/**
 * Compiles every kernel for `dtype` and a model's `headDim` (the attention kernels' HEAD_D), with
 * the launch geometry `geo` (default {@link GEOMETRY}; the benchmark compiles variants), all of
 * them or `only` those named (the others are then absent); a WGSL error names the kernel and the
 * compiler message.
 * `linear_gemv`, `linear_gemv_s` and `linear_tiled` share one bind group layout, so one bind group
 * serves all three.
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "../step/device.ts";
 * import { compileKernels } from "./pipelines.ts";
 * const gpu = await requestEngineDevice();
 * const k = await compileKernels(gpu.device, "f32", 64);
 * console.log(k.rmsnorm.name); // rmsnorm
 * gpu.device.destroy();
 * ```
 */
export async function compileKernels(
  device: GPUDevice,
  dtype: StorageDtype,
  headDim: number,
  geo: Geometry = GEOMETRY,
  only?: readonly KernelName[],
): Promise<Kernels> {
  checkTileGeometry(geo);
  checkGemvGeometry(geo);
  checkHybridGeometry(geo);
  const prelude = shaderPrelude(dtype, headDim, geo);
  // linear_gemv_s: linear_gemv.wgsl with the few-rows GEMV constants.
  const smallPrelude = shaderPrelude(dtype, headDim, smallGemvGeometry(geo));
  const layouts = new Map<string, GPUBindGroupLayout>();
  const out: Partial<Kernels> = {};
  const all = (Object.keys(KERNEL_BINDINGS) as KernelName[]).filter((n) =>
    !OWN_COMPILE.includes(n)
  );
  for (const name of only ?? all) {
    if (dtype === "f32" && F16_ONLY.includes(name)) continue;
    const slots = KERNEL_BINDINGS[name];
    const key = slots.join(",");
    let layout = layouts.get(key);
    if (!layout) {
      layout = layoutOf(device, slots);
      layouts.set(key, layout);
    }
    const code = (name === "linear_gemv_s" ? smallPrelude : prelude) +
      (await kernelSource(name)) +
      (name === "attention_hybrid" ? headVecWgsl(headDim) : "");
    const pipeline = await compilePipeline(
      device,
      name,
      code,
      layout,
      dtype,
      headDim,
    );
    (out as Record<KernelName, Kernel>)[name] = { name, pipeline, layout };
  }
  return out as Kernels;
}

/**
 * Compiles `linear_gemv_s` once more with the small-GEMV constants of `geo` (a layer's own
 * geometry), on the bind group layout of `base` (the engine's linear_gemv_s), so that the
 * layer's bind groups serve both.
 */
export async function compileSmallGemv(
  device: GPUDevice,
  dtype: StorageDtype,
  headDim: number,
  geo: Geometry,
  base: Kernel,
): Promise<Kernel> {
  checkGemvGeometry(geo);
  const code = shaderPrelude(dtype, headDim, smallGemvGeometry(geo)) +
    (await kernelSource("linear_gemv_s"));
  const pipeline = await compilePipeline(
    device,
    "linear_gemv_s",
    code,
    base.layout,
    dtype,
    headDim,
  );
  return { name: "linear_gemv_s", pipeline, layout: base.layout };
}

/**
 * Compiles `linear_gemv_rope` (the one-row qkv GEMV with rope_kv's rotation and KV-cache write,
 * gemv_rope.wgsl) with the small-GEMV constants of `geo` (the qkv layer's geometry, which must
 * fit: geometry.ts ropeGemvFits), on a layout of its own.
 */
export async function compileGemvRope(
  device: GPUDevice,
  dtype: StorageDtype,
  headDim: number,
  geo: Geometry,
): Promise<Kernel> {
  checkGemvGeometry(geo);
  if (!ropeGemvFits(geo, headDim)) {
    throw new Error(
      `Kernel linear_gemv_rope: geometry GEMV_SROWS ${geo.GEMV_SROWS}, GEMV_SRPT ${geo.GEMV_SRPT}, GEMV_SMB ${geo.GEMV_SMB} with head_dim ${headDim}: expected one row, one column per invocation and an even GEMV_SROWS dividing head_dim`,
    );
  }
  const layout = layoutOf(device, KERNEL_BINDINGS.linear_gemv_rope);
  const code = shaderPrelude(dtype, headDim, smallGemvGeometry(geo)) +
    (await kernelSource("linear_gemv_rope"));
  const pipeline = await compilePipeline(
    device,
    "linear_gemv_rope",
    code,
    layout,
    dtype,
    headDim,
  );
  return { name: "linear_gemv_rope", pipeline, layout };
}

/** One compute pipeline from WGSL `code`; a WGSL error names the kernel and the message. */
async function compilePipeline(
  device: GPUDevice,
  name: KernelName,
  code: string,
  layout: GPUBindGroupLayout,
  dtype: StorageDtype,
  headDim: number,
): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: `${name}.wgsl`, code });
  const info = await module.getCompilationInfo();
  const pipeline = device.createComputePipeline({
    label: name,
    layout: device.createPipelineLayout({
      label: name,
      bindGroupLayouts: [layout],
    }),
    compute: { module, entryPoint: "main" },
  });
  const err = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === "error");
  if (err || errors.length > 0) {
    const msg = errors.map((m) => `line ${m.lineNum}: ${m.message}`).join(
      "; ",
    ) ||
      err?.message;
    throw new Error(`Kernel ${name}.wgsl (${dtype}, D ${headDim}): ${msg}`);
  }
  return pipeline;
}

/** Creates a bind group of `kernel` over `buffers`, in binding order. */
export function bindKernel(
  device: GPUDevice,
  kernel: Kernel,
  label: string,
  buffers: (GPUBuffer | GPUBufferBinding)[],
): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: kernel.layout,
    entries: buffers.map((b, i) => ({
      binding: i,
      resource: "buffer" in b ? b : { buffer: b },
    })),
  });
}

/**
 * Records one dispatch into a compute pass; refuses a grid past MAX_GRID_DIM workgroups in any
 * dimension (WebGPU would reject it only as a validation error of the whole command buffer, and
 * no kernel of the step would run).
 */
export function dispatch(
  pass: GPUComputePassEncoder,
  kernel: Kernel,
  group: GPUBindGroup,
  grid: Grid,
): void {
  if (grid.some((n) => n > MAX_GRID_DIM)) {
    throw new Error(
      `Dispatch ${kernel.name}: grid ${
        grid.join(" x ")
      } workgroups: expected at most ${MAX_GRID_DIM} per dimension (use a geometry with more outputs per workgroup)`,
    );
  }
  pass.setPipeline(kernel.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
}
