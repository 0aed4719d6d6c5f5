/**
 * Kernel benchmark (`deno task perf:kernels`): achieved GB/s and GFLOP/s of every engine kernel at
 * a preset's shapes, beside two ceilings measured on the same adapter: a copy kernel (bandwidth)
 * and a large f32 tiled matmul (compute). Ends with whole decode steps of the preset.
 *
 * Usage: `deno run -A adapters/webgpu/bench/kernels.ts [--preset NAME] [--runs N] [--no-step]`.
 * Defaults: `llama-3.2-1b` and 20 runs on a GPU; `smollm2-135m` and 3 runs on a software adapter.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseModelConfig } from "../config.ts";
import { type EngineDevice, requestEngineDevice } from "../device.ts";
import { dtypeBytes, storageBuffer, uniformBuffer } from "../gpu_buffers.ts";
import { grids, type StorageDtype } from "../kernels/geometry.ts";
import {
  attentionParams,
  embedParams,
  LINEAR_FLAGS,
  linearParams,
  type ParamWords,
  rmsnormParams,
  ropeKvParams,
  sampleParams,
} from "../kernels/params.ts";
import {
  bindKernel,
  compileKernels,
  dispatch,
  type Kernel,
} from "../kernels/pipelines.ts";
import { fillUniform, PRESET_CONFIGS } from "../presets.ts";
import { HDR, packStep, PAGE_SIZE, type StepSequence } from "../step_batch.ts";
import { benchSteps } from "./_steps.ts";
import { type BenchRow, renderTable, timePass } from "./_timing.ts";

const { values: args } = parseArgs({
  options: {
    preset: { type: "string" },
    runs: { type: "string" },
    "no-step": { type: "boolean", default: false },
  },
});

const gpu: EngineDevice = await requestEngineDevice();
const device = gpu.device;
const cpu = gpu.isFallback;
const preset = args.preset ?? (cpu ? "smollm2-135m" : "llama-3.2-1b");
if (!(preset in PRESET_CONFIGS)) {
  throw new Error(`--preset: unknown preset ${JSON.stringify(preset)}`);
}
const runs = Number(args.runs ?? (cpu ? 3 : 20));
const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
const dtype: StorageDtype = gpu.f16 ? "f16" : "f32";
const wb = dtypeBytes(dtype);
const k = await compileKernels(device, dtype, cfg.headDim);
const k32 = dtype === "f32"
  ? k
  : await compileKernels(device, "f32", cfg.headDim);
const maxB = gpu.limits.maxStorageBufferBindingSize;
const {
  hidden: C,
  numHeads: H,
  numKvHeads: G,
  headDim: D,
  intermediate: I,
  vocab: V,
} = cfg;
const QKV = (H + 2 * G) * D;

/** A storage buffer of `bytes` filled with a repeated random f32 (or f16) pattern in [-1, 1). */
function randomBuffer(
  label: string,
  bytes: number,
  as: StorageDtype = "f32",
): GPUBuffer {
  const buf = storageBuffer(device, label, bytes, maxB);
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

function metaHeader(T: number, R: number): GPUBuffer {
  const m = new Uint32Array(16);
  m[HDR.T] = T;
  m[HDR.R] = R;
  const buf = storageBuffer(device, "bench meta header", 64, maxB);
  device.queue.writeBuffer(buf, 0, m);
  return buf;
}

const rows: BenchRow[] = [];
const reps = cpu ? 2 : 50;

async function bench(
  name: string,
  shape: string,
  kdtype: string,
  kernel: Kernel,
  params: ParamWords | null,
  buffers: GPUBuffer[],
  grid: readonly [number, number, number],
  bytes: number,
  flops: number,
  repeat = reps,
): Promise<BenchRow> {
  const all = params
    ? [uniformBuffer(device, `${name} params`, params), ...buffers]
    : buffers;
  const group = bindKernel(device, kernel, name, all);
  const seconds = await timePass(
    gpu,
    (pass) => dispatch(pass, kernel, group, grid),
    repeat,
    runs,
  );
  const row = { kernel: name, shape, dtype: kdtype, seconds, bytes, flops };
  rows.push(row);
  return row;
}

// Ceilings.
const copyBytes = cpu ? 32 << 20 : 512 << 20;
const copyRow = await bench(
  "copy (ceiling)",
  `${copyBytes >> 20} MiB`,
  "f32",
  k32.copy,
  null,
  [
    randomBuffer("copy src", copyBytes),
    storageBuffer(device, "copy dst", copyBytes, maxB),
  ],
  grids.copy(copyBytes / 16),
  2 * copyBytes,
  0,
);
const S = cpu ? 512 : 2048;
const mmRow = await bench(
  "matmul f32 tiled (ceiling)",
  `${S}x${S}x${S}`,
  "f32",
  k32.linear_tiled,
  linearParams(S, S, S, 0, HDR.T),
  [
    metaHeader(S, 0),
    randomBuffer("mm x", S * S * 4),
    randomBuffer("mm w", S * S * 4),
    storageBuffer(device, "bias", 16, maxB),
    storageBuffer(device, "mm y", S * S * 4, maxB),
  ],
  grids.tiled(S, S),
  3 * S * S * 4,
  2 * S ** 3,
  cpu ? 1 : 5,
);
const copyGBs = copyRow.bytes / copyRow.seconds / 1e9;
const matmulGFs = mmRow.flops / mmRow.seconds / 1e9;

// Linear layers at the preset's shapes.
const Tp = cpu ? 64 : 512; // prefill chunk
const linears: [string, number, number, number][] = [
  ["qkv", QKV, C, 0],
  ["gate_up", 2 * I, C, 0],
  [
    "down (silu-mul, +res)",
    C,
    I,
    LINEAR_FLAGS.SILU_MUL | LINEAR_FLAGS.RESIDUAL,
  ],
  ["lm_head", V, C, 0],
];
for (const M of [1, 8, Tp]) {
  for (const [name, N, K, flags] of linears) {
    if (M === Tp && name === "lm_head") continue; // the LM head only runs on sample rows
    const XS = flags & LINEAR_FLAGS.SILU_MUL ? 2 * K : K;
    const kernel = M <= 8 ? k.linear_gemv : k.linear_tiled;
    await bench(
      `${kernel.name} ${name}`,
      `M=${M} N=${N} K=${K}`,
      dtype,
      kernel,
      linearParams(N, K, XS, flags, HDR.T),
      [
        metaHeader(M, 0),
        randomBuffer("x", M * XS * 4),
        randomBuffer("w", N * K * wb, dtype),
        storageBuffer(device, "bias", 16, maxB),
        storageBuffer(device, "y", M * N * 4, maxB),
      ],
      M <= 8 ? grids.gemv(N) : grids.tiled(M, N),
      N * K * wb + M * XS * 4 +
        M * N * 4 * (flags & LINEAR_FLAGS.RESIDUAL ? 2 : 1),
      2 * M * N * K,
    );
  }
}

// Norm, embedding, RoPE + KV write, attention, sampling.
function stepMeta(seqs: StepSequence[], numPages: number, maxContext: number) {
  const packed = packStep({ seqs, logBase: 0 }, {
    maxTokens: Math.max(Tp, seqs.length),
    maxSeqs: seqs.length,
    numPages,
    vocab: V,
    maxContext,
    logSize: seqs.length,
  });
  const buf = storageBuffer(device, "bench meta", packed.meta.byteLength, maxB);
  device.queue.writeBuffer(buf, 0, packed.meta);
  return { packed, buf };
}
const greedy = { temperature: 0, topP: 1, seed: 0 };
const ctx = cpu ? 256 : 1024;
const B = cpu ? 4 : 16;
const pagesPer = ctx / PAGE_SIZE;
const numPages = B * pagesPer;
const prefill = stepMeta(
  [{
    slot: 0,
    start: 0,
    tokens: Array.from({ length: Tp }, (_, i) => i % V),
    pages: Array.from({ length: pagesPer }, (_, i) => i),
    sample: greedy,
  }],
  numPages,
  ctx,
);
const decode = stepMeta(
  Array.from({ length: B }, (_, s) => ({
    slot: s,
    start: ctx - 1,
    tokens: [s],
    pages: Array.from({ length: pagesPer }, (_, i) => s * pagesPer + i),
    sample: greedy,
  })),
  numPages,
  ctx,
);
const kvBytes = numPages * 2 * G * PAGE_SIZE * D * wb;
const kv = randomBuffer("kv", kvBytes, dtype);
const x = randomBuffer("x", Tp * C * 4);
const qkv = randomBuffer("qkv", Tp * QKV * 4);
await bench(
  "rmsnorm",
  `T=${Tp} C=${C}`,
  "f32",
  k.rmsnorm,
  rmsnormParams(C, false, 1e-5),
  [
    prefill.buf,
    x,
    randomBuffer("g", C * 4),
    storageBuffer(device, "y", Tp * C * 4, maxB),
  ],
  grids.rmsnorm(Tp),
  2 * Tp * C * 4,
  0,
);
await bench(
  "embed",
  `T=${Tp} C=${C}`,
  dtype,
  k.embed,
  embedParams(C),
  [
    prefill.buf,
    storageBuffer(device, "last", 16, maxB),
    randomBuffer("emb", V * C * wb, dtype),
    x,
  ],
  grids.embed(Tp, C),
  Tp * C * (4 + wb),
  0,
);
await bench(
  "rope_kv",
  `T=${Tp} H=${H} G=${G} D=${D}`,
  dtype,
  k.rope_kv,
  ropeKvParams(H, G, D, 0),
  [prefill.buf, randomBuffer("f", D * 2), qkv, kv],
  grids.ropeKv(Tp, H, G, D),
  Tp * ((H + G) * D * 8 + G * D * 4 + 2 * G * D * wb),
  0,
);
const prefillKeys = (Tp * (Tp + 1)) / 2;
await bench(
  "attention prefill",
  `T=${Tp} causal`,
  dtype,
  k.attention,
  attentionParams(H, G, D, 0),
  [prefill.buf, qkv, kv, storageBuffer(device, "out", Tp * H * D * 4, maxB)],
  grids.attention(Tp, H),
  Tp * QKV * 4 + Tp * 2 * G * D * wb + Tp * H * D * 4,
  4 * H * D * prefillKeys,
  cpu ? 1 : 5,
);
await bench(
  "attention decode",
  `B=${B} ctx=${ctx}`,
  dtype,
  k.attention,
  attentionParams(H, G, D, 0),
  [
    decode.buf,
    randomBuffer("qkv d", B * QKV * 4),
    kv,
    storageBuffer(device, "out d", B * H * D * 4, maxB),
  ],
  grids.attention(B, H),
  B * ctx * 2 * G * D * wb,
  4 * B * H * D * ctx,
);
const logits = randomBuffer("logits", B * V * 4);
await bench(
  "sample greedy",
  `R=${B} V=${V}`,
  "f32",
  k.sample,
  sampleParams(V),
  [
    decode.buf,
    logits,
    storageBuffer(device, "last", B * 4, maxB),
    storageBuffer(device, "log", B * 4, maxB),
  ],
  grids.sample(B),
  B * V * 4,
  0,
);

// Whole steps of the preset with random weights (bench/_steps.ts).
if (!args["no-step"]) {
  rows.push(...await benchSteps(gpu, preset, dtype, cpu ? 2 : 20));
}

console.log(
  `# tokentrace kernel benchmark: ${gpu.description} (${
    gpu.isFallback ? "software" : "GPU"
  }), ` +
    `storage ${dtype}, preset ${preset}, median of ${runs} runs, timing by ${
      gpu.timestamps ? "timestamp queries" : "wall clock"
    }`,
);
console.log(
  `# ceilings: copy ${copyGBs.toFixed(1)} GB/s (read+write), f32 tiled matmul ${
    matmulGFs.toFixed(1)
  } GFLOP/s`,
);
console.log(renderTable(rows, copyGBs, matmulGFs));
device.destroy();
