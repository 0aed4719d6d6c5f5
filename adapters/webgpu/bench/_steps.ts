/**
 * Whole forward steps of a preset with random weights, timed on the GPU: batch-1 and batched
 * decode (weights bytes + KV bytes per step against the copy ceiling) and one prefill chunk.
 *
 * @module
 */
import { parseModelConfig } from "../config.ts";
import type { EngineDevice } from "../device.ts";
import { ForwardEngine } from "../forward.ts";
import { dtypeBytes } from "../gpu_buffers.ts";
import type { StorageDtype } from "../kernels/geometry.ts";
import { PRESET_CONFIGS, presetSource } from "../presets.ts";
import { PAGE_SIZE, type StepSequence } from "../step_batch.ts";
import { StepTimer } from "../step_timer.ts";
import type { BenchRow } from "./_timing.ts";

/** Benchmarks decode steps (B = 1, and 16 on a GPU) and a prefill step of `preset`. */
export async function benchSteps(
  gpu: EngineDevice,
  preset: string,
  dtype: StorageDtype,
  runs: number,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cpu = gpu.isFallback;
  const cfg = parseModelConfig(PRESET_CONFIGS[preset], `preset ${preset}`);
  const {
    hidden: C,
    numHeads: H,
    numKvHeads: G,
    headDim: D,
    intermediate: I,
    vocab: V,
  } = cfg;
  const QKV = (H + 2 * G) * D;
  const wb = dtypeBytes(dtype);
  const greedy = { temperature: 0, topP: 1, seed: 0 };

  const t0 = performance.now();
  const maxContext = cpu ? 64 : 512;
  const stepB = cpu ? [1] : [1, 16];
  const engine = await ForwardEngine.create(gpu, presetSource(preset), {
    maxTokens: 128,
    maxSeqs: Math.max(...stepB),
    maxContext,
    dtype,
  });
  console.error(
    `# ${preset} uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const weightBytes = wb *
    (cfg.numLayers * (QKV * C + C * H * D + 3 * I * C) + V * C);
  for (const b of stepB) {
    const ctxLen = maxContext - 1;
    const seqs: StepSequence[] = Array.from({ length: b }, (_, s) => ({
      slot: s,
      start: ctxLen - 1,
      tokens: [s + 1],
      sample: greedy,
      pages: engine.pages.allocate(Math.ceil(ctxLen / PAGE_SIZE)),
    }));
    const packed = engine.submitStep({ seqs, logBase: 0 });
    const kvRead = b * ctxLen * cfg.numLayers * 2 * G * D * wb;
    const flops = 2 * b * (weightBytes / wb) +
      4 * b * cfg.numLayers * H * D * ctxLen;
    const seconds = await timeStep(engine, packed, runs);
    rows.push({
      kernel: "decode step",
      shape: `${preset} B=${b} ctx=${ctxLen}`,
      dtype,
      seconds,
      bytes: weightBytes + kvRead,
      flops,
    });
    for (const q of seqs) engine.pages.free(q.pages);
  }
  // One prefill chunk from position 0.
  const P = Math.min(128, maxContext);
  const pages = engine.pages.allocate(P / PAGE_SIZE);
  const tokens = Array.from({ length: P }, (_, i) => (i * 7) % V);
  const packed = engine.submitStep({
    seqs: [{ slot: 0, start: 0, tokens, pages, sample: greedy }],
    logBase: 0,
  });
  rows.push({
    kernel: "prefill step",
    shape: `${preset} T=${P}`,
    dtype,
    seconds: await timeStep(engine, packed, runs),
    bytes: weightBytes,
    flops: 2 * P * (weightBytes / wb) + 2 * cfg.numLayers * H * D * P * P,
  });
  engine.pages.free(pages);
  engine.destroy();
  return rows;

  /** Median of `n` timed runs of one step, in seconds. */
  async function timeStep(
    engine: ForwardEngine,
    packed: ReturnType<ForwardEngine["submitStep"]>,
    n: number,
  ) {
    const timer = new StepTimer(engine);
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      samples.push((await timer.timeMs(packed)) / 1000);
    }
    timer.destroy();
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)];
  }
}
