/**
 * Whole-engine benchmarks on one uploaded model: batch-1 generation (one request through the
 * serving loop: GPU-fed decode, `stepsInFlight` steps queued; wall time per token in steady
 * state), decode steps at several batch
 * sizes (GPU time by timestamps: the smoothness of step time in B, and B = 128 at ctx ~1.2k), a
 * prefill step, and a many-request workload through the serving loop (continuous batching, all
 * requests queued at t = 0) with output tok/s, TTFT and TBT.
 *
 * @module
 */
import type { EngineDevice } from "../step/device.ts";
import { EngineLoop, type EngineLoopOptions } from "../serving/engine_loop.ts";
import { DEFAULT_MAX_STEPS_IN_FLIGHT } from "../serving/step_queue.ts";
import { runRequest, type SeqEvent } from "../serving/engine_request.ts";
import type { EngineOptions } from "../step/engine_options.ts";
import { ForwardEngine } from "../step/forward.ts";
import type { StorageDtype } from "../kernels/geometry.ts";
import { presetSource } from "../model/presets.ts";
import type { Policy } from "../serving/scheduler.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import { GREEDY, type StepSequence } from "../batch/step_batch.ts";
import type { PackedStep } from "../batch/step_batch.ts";
import { encodeHeat } from "./_timing.ts";

/** The same work the peer runs (make_workload.py's workload.json). */
export interface Workload {
  prompts: number[][];
  output_tokens: number;
  batch1_prompt: number[];
}

/** Options of {@link benchEngine}. */
export interface EngineBenchOptions {
  preset: string;
  dtype: StorageDtype;
  workload: Workload;
  /** Serving-loop runs over the workload: policy and token budget of each. */
  runs: { policy: Policy; tokenBudget: number }[];
  /** Sequences per step (default 256). */
  maxSeqs?: number;
  /** Steps in flight always (default 4). */
  stepsInFlight?: number;
  /** Steps in flight at most while steps are short (EngineLoopOptions; default the loop's). */
  maxStepsInFlight?: number;
  /** GPU ms the queue may hold past `stepsInFlight` (EngineLoopOptions; default the loop's). */
  queueAheadMs?: number;
  /** Decode-step batch sizes timed at `decodeCtx` (default 1 8 9 16 32 64 128). */
  decodeBatches?: number[];
  /** Context of the timed decode steps (default 1200). */
  decodeCtx?: number;
  /** New tokens of the timed batch-1 generation (default 256). */
  batch1Tokens?: number;
  /** Linear-kernel choice of the engine (EngineOptions.linear). */
  linear?: EngineOptions["linear"];
  /** Attention work items splitting aims at (EngineOptions.attnTargetItems). */
  attnTargetItems?: number;
  /** Seconds after which a workload run cancels its unfinished requests (default none). */
  workloadDeadlineS?: number;
}

/** Percentiles (nearest rank) of a sample, with its count; null when empty. */
export interface Dist {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  mean: number | null;
}

function dist(v: number[]): Dist {
  const s = [...v].sort((a, b) => a - b);
  const at = (q: number) =>
    s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
  };
}

/** One serving-loop run over the workload. */
export interface WorkloadRun {
  policy: Policy;
  tokenBudget: number;
  requests: number;
  /** Requests cancelled at the deadline (their tokens so far are counted). */
  cancelled: number;
  outputTokens: number;
  promptTokens: number;
  wallS: number;
  outputTokPerS: number;
  totalTokPerS: number;
  steps: number;
  preemptions: number;
  /** Submit to first token read back, ms. */
  ttftMs: Dist;
  /** Submit to the GPU end of the step that sampled the first token, ms. */
  ttftGpuMs: Dist;
  /** Between consecutive tokens of a request, GPU step ends, ms. */
  tbtMs: Dist;
}

/** What {@link benchEngine} returns. */
export interface EngineBenchResult {
  loadS: number;
  batch1: {
    promptTokens: number;
    newTokens: number;
    wallS: number;
    /** (n2 - n1) / (wall(n2) - wall(n1)), n1 = 16, n2 = 16 + batch1Tokens new tokens. */
    decodeTokPerS: number;
    decodeMsPerToken: number;
    overallTokPerS: number;
    /** GPU time of one decode step at ctx = prompt + newTokens / 2 (median of 20). */
    stepGpuMs: number;
    /** The loop's queue bounds in this run. */
    stepsInFlight: number;
    maxStepsInFlight: number;
    queueAheadMs: number;
    /** The same generation with the queue fixed at `stepsInFlight` (the loop before step_queue.ts). */
    fixedQueue: { decodeTokPerS: number; decodeMsPerToken: number };
    /**
     * The step of `stepGpuMs` with every dispatch in a pass of its own (timeDispatches): GPU us
     * by kernel (a GEMV by layer), and their sum in ms.
     */
    dispatches: DispatchTime[];
    dispatchSumMs: number;
  };
  decodeSteps: { batch: number; ctx: number; gpuMs: number; spread: number }[];
  prefillStep: { tokens: number; gpuMs: number };
  workload: WorkloadRun[];
}

const now = () => BigInt(Math.round(performance.now() * 1e6));
/** New tokens of the short batch-1 run, whose wall time is subtracted from the long one's. */
const B1_SHORT = 16;

/**
 * Batch-1 generation through `loop`, timed as the peer times it: wall(n2 new) - wall(n1 new),
 * n1 = 16, n2 = 16 + `newTokens`, each the median of 3 runs after a warm-up of `newTokens`
 * (prefill and the last readback cancel out). Returns the difference and wall(n2), seconds.
 */
export async function timeBatch1(
  loop: EngineLoop,
  prompt: number[],
  newTokens: number,
): Promise<{ decodeS: number; wallS: number }> {
  const gen = async (n: number) => {
    const s = performance.now();
    const { ids } = await runRequest(loop, {
      id: "batch-1",
      prompt,
      maxTokens: n,
      ignoreEos: true,
    });
    if (ids.length !== n) {
      throw new Error(`Batch-1: expected ${n} ids, got ${ids.length}`);
    }
    return (performance.now() - s) / 1000;
  };
  const median3 = async (n: number) => {
    const t = [await gen(n), await gen(n), await gen(n)].sort((a, b) => a - b);
    return t[1];
  };
  await gen(newTokens);
  const t1 = await median3(B1_SHORT);
  const t2 = await median3(newTokens + B1_SHORT);
  return { decodeS: t2 - t1, wallS: t2 };
}

/** Runs every engine benchmark on one upload of `preset`. */
export async function benchEngine(
  gpu: EngineDevice,
  opts: EngineBenchOptions,
): Promise<EngineBenchResult> {
  const wl = opts.workload;
  const maxSeqs = opts.maxSeqs ?? 256;
  const stepsInFlight = opts.stepsInFlight ?? 4;
  const decodeCtx = opts.decodeCtx ?? 1200;
  const longest = Math.max(
    ...wl.prompts.map((p) => p.length + wl.output_tokens),
    decodeCtx + 1,
  );
  const maxContext = Math.ceil(longest / PAGE_SIZE) * PAGE_SIZE;
  const maxTokens = Math.max(512, ...opts.runs.map((r) => r.tokenBudget));
  const t0 = performance.now();
  const engine = await ForwardEngine.create(gpu, presetSource(opts.preset), {
    dtype: opts.dtype,
    maxSeqs,
    maxContext,
    maxTokens,
    logSize: (Math.max(
      stepsInFlight,
      opts.maxStepsInFlight ?? DEFAULT_MAX_STEPS_IN_FLIGHT,
    ) + 2) * maxSeqs,
    linear: opts.linear,
    attnTargetItems: opts.attnTargetItems,
  });
  const loadS = (performance.now() - t0) / 1000;
  const timeStep = async (seqs: StepSequence[], n: number) => {
    const packed = engine.prepareStep({ seqs, logBase: 0 });
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push(await timeHot(engine, packed));
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)];
  };
  // Batch-1 generation (timeBatch1). The loop's block manager also hands out the pages of the
  // directly timed steps below.
  const newTokens = opts.batch1Tokens ?? 256;
  const loopOpts = {
    stepsInFlight,
    maxStepsInFlight: opts.maxStepsInFlight,
    queueAheadMs: opts.queueAheadMs,
    prefixCaching: false,
  };
  let b1 = await EngineLoop.create(engine, {
    ...loopOpts,
    maxStepsInFlight: stepsInFlight,
  });
  // First the loop as it was (a fixed queue of stepsInFlight), then the default queue.
  const fixed = await timeBatch1(b1, wl.batch1_prompt, newTokens);
  await b1.close();
  b1 = await EngineLoop.create(engine, loopOpts);
  const { decodeS, wallS: t2 } = await timeBatch1(
    b1,
    wl.batch1_prompt,
    newTokens,
  );
  const fixedS = fixed.decodeS;
  const n1 = B1_SHORT;
  const decodeTokens = newTokens;
  const P = wl.batch1_prompt.length;
  const b1Pages = b1.blocks.take(
    Math.ceil((P + newTokens) / PAGE_SIZE),
  );
  const b1Step: StepSequence[] = [{
    slot: 0,
    start: P + newTokens / 2,
    tokens: [1],
    pages: b1Pages,
    sample: GREEDY,
  }];
  const stepGpuMs = await timeStep(b1Step, 20);
  const dispatches = await timeDispatches(
    engine,
    engine.prepareStep({ seqs: b1Step, logBase: 0 }),
    10,
  );
  b1.blocks.release(b1Pages);
  const batch1 = {
    promptTokens: P,
    newTokens: newTokens + n1,
    wallS: t2,
    decodeTokPerS: decodeTokens / decodeS,
    decodeMsPerToken: (decodeS * 1000) / decodeTokens,
    overallTokPerS: (newTokens + n1) / t2,
    stepGpuMs,
    stepsInFlight: b1.stepsInFlight,
    maxStepsInFlight: b1.maxStepsInFlight,
    queueAheadMs: b1.queueAheadMs,
    fixedQueue: {
      decodeTokPerS: decodeTokens / fixedS,
      decodeMsPerToken: (fixedS * 1000) / decodeTokens,
    },
    dispatches,
    dispatchSumMs: dispatches.reduce((a, t) => a + t.us, 0) / 1000,
  };
  // Decode steps at several batch sizes.
  const decodeSteps: EngineBenchResult["decodeSteps"] = [];
  for (const B of opts.decodeBatches ?? [1, 8, 9, 16, 32, 64, 128]) {
    if (B > maxSeqs) continue;
    const seqs: StepSequence[] = Array.from({ length: B }, (_, i) => ({
      slot: i,
      start: decodeCtx - 1,
      tokens: [1 + i],
      pages: b1.blocks.take(Math.ceil(decodeCtx / PAGE_SIZE)),
      sample: GREEDY,
    }));
    const a = await timeStep(seqs, 10);
    const b = await timeStep(seqs, 10);
    decodeSteps.push({
      batch: B,
      ctx: decodeCtx,
      gpuMs: Math.min(a, b),
      spread: Math.abs(a - b) / Math.min(a, b),
    });
    for (const q of seqs) b1.blocks.release(q.pages);
  }
  // One prefill step of 512 tokens (fewer when the engine is smaller).
  const PT = Math.min(512, maxContext - PAGE_SIZE, maxTokens);
  const pp = b1.blocks.take(Math.ceil(PT / PAGE_SIZE));
  const prefillStep = {
    tokens: PT,
    gpuMs: await timeStep([{
      slot: 0,
      start: 0,
      tokens: Array.from({ length: PT }, (_, i) => (i * 7) % 200),
      pages: pp,
      sample: GREEDY,
    }], 10),
  };
  b1.blocks.release(pp);
  await b1.close();
  // The workload through the serving loop, every request queued at once.
  const workload: WorkloadRun[] = [];
  for (const run of opts.runs) {
    workload.push(
      await runWorkload(engine, wl, run, loopOpts, opts.workloadDeadlineS),
    );
  }
  engine.destroy();
  return { loadS, batch1, decodeSteps, prefillStep, workload };
}

let stamps: { qs: GPUQuerySet; res: GPUBuffer; rd: GPUBuffer } | null = null;

/** GPU time of one kernel's dispatches in a step (timeDispatches). */
export interface DispatchTime {
  /** Kernel name (a GEMV's with its layer). */
  name: string;
  /** Dispatches of it in the step. */
  count: number;
  /** Their GPU time, us (each dispatch the median over the runs). */
  us: number;
}

/** Most dispatches timeDispatches can stamp (two timestamps each). */
const MAX_STAMPED = 1024;

/**
 * The step `packed` with every dispatch in a compute pass of its own, timestamped before and
 * after (heat around it as in timeHot), `runs` times: each dispatch's median, summed by kernel.
 * Each pass's time includes its own start and drain, so the sum is an upper bound of what the
 * dispatches cost in one pass; the shares are what it attributes.
 */
export async function timeDispatches(
  engine: ForwardEngine,
  packed: PackedStep,
  runs: number,
): Promise<DispatchTime[]> {
  const device = engine.gpu.device;
  if (!engine.gpu.timestamps) {
    throw new Error(
      `Dispatch timing: the adapter ${engine.gpu.description} lacks timestamp-query`,
    );
  }
  const n = 2 * MAX_STAMPED;
  const qs = device.createQuerySet({
    label: "dispatch stamps",
    type: "timestamp",
    count: n,
  });
  const res = device.createBuffer({
    label: "dispatch stamps resolve u64",
    size: n * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const rd = device.createBuffer({
    label: "dispatch stamps readback u64",
    size: n * 8,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  let names: string[] = [];
  const per: number[][] = [];
  for (let r = 0; r < runs; r++) {
    names = [];
    const enc = device.createCommandEncoder({ label: "stamped step" });
    encodeHeat(enc);
    engine.encodeStep(enc, packed, undefined, { querySet: qs, names });
    enc.resolveQuerySet(qs, 0, 2 * names.length, res, 0);
    enc.copyBufferToBuffer(res, 0, rd, 0, 16 * names.length);
    encodeHeat(enc);
    device.queue.submit([enc.finish()]);
    await rd.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(rd.getMappedRange(0, 16 * names.length));
    names.forEach((_, i) => {
      (per[i] ??= []).push(Number(t[2 * i + 1] - t[2 * i]) / 1e3);
    });
    rd.unmap();
  }
  for (const b of [res, rd]) b.destroy();
  qs.destroy();
  const by = new Map<string, DispatchTime>();
  names.forEach((name, i) => {
    const v = per[i].sort((a, b) => a - b)[Math.floor(per[i].length / 2)];
    const e = by.get(name) ?? { name, count: 0, us: 0 };
    e.count++;
    e.us += v;
    by.set(name, e);
  });
  return [...by.values()];
}

/**
 * GPU milliseconds of one step by timestamp queries, with the registered heat (bench/_timing.ts)
 * before and after it in the same submission, so the clocks stay up through the readback.
 */
async function timeHot(
  engine: ForwardEngine,
  packed: PackedStep,
): Promise<number> {
  const device = engine.gpu.device;
  if (!engine.gpu.timestamps) {
    throw new Error(
      `Step timing: the adapter ${engine.gpu.description} lacks timestamp-query`,
    );
  }
  stamps ??= {
    qs: device.createQuerySet({
      label: "step stamps",
      type: "timestamp",
      count: 2,
    }),
    res: device.createBuffer({
      label: "step stamps resolve [2] u64",
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    }),
    rd: device.createBuffer({
      label: "step stamps readback [2] u64",
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }),
  };
  const { qs, res, rd } = stamps;
  const enc = device.createCommandEncoder({ label: "timed step" });
  encodeHeat(enc);
  engine.encodeStep(enc, packed, {
    querySet: qs,
    beginningOfPassWriteIndex: 0,
    endOfPassWriteIndex: 1,
  });
  enc.resolveQuerySet(qs, 0, 2, res, 0);
  enc.copyBufferToBuffer(res, 0, rd, 0, 16);
  encodeHeat(enc);
  device.queue.submit([enc.finish()]);
  await rd.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(rd.getMappedRange().slice(0));
  rd.unmap();
  return Number(t[1] - t[0]) / 1e6;
}

async function runWorkload(
  engine: ForwardEngine,
  wl: Workload,
  run: { policy: Policy; tokenBudget: number },
  queue: EngineLoopOptions,
  deadlineS?: number,
): Promise<WorkloadRun> {
  const loop = await EngineLoop.create(engine, {
    ...queue,
    policy: run.policy,
    tokenBudget: run.tokenBudget,
    nowNs: now,
  });
  const ttft: number[] = [];
  const ttftGpu: number[] = [];
  const tbt: number[] = [];
  let outputTokens = 0;
  let end = 0n;
  const start = now();
  const streams = wl.prompts.map((prompt, i) => {
    const submitted = now();
    return {
      submitted,
      events: loop.submit({
        id: `r${i}`,
        prompt,
        maxTokens: wl.output_tokens,
        minTokens: wl.output_tokens,
        ignoreEos: true,
      }),
    };
  });
  let cancelled = 0;
  const timer = deadlineS === undefined ? undefined : setTimeout(() => {
    for (let i = 0; i < wl.prompts.length; i++) loop.cancel(`r${i}`);
  }, deadlineS * 1000);
  await Promise.all(streams.map(async ({ submitted, events }) => {
    let last: bigint | null = null;
    for await (const e of events as AsyncIterable<SeqEvent>) {
      if (e.kind === "error") throw new Error(`Workload request: ${e.message}`);
      if (e.kind === "done" && e.finishReason === "cancelled") cancelled++;
      if (e.kind !== "token") continue;
      outputTokens++;
      if (e.index === 0) {
        ttft.push(Number(e.deliveredNs - submitted) / 1e6);
        if (e.gpuNs !== null) ttftGpu.push(Number(e.gpuNs - submitted) / 1e6);
      } else if (e.gpuNs !== null && last !== null) {
        tbt.push(Number(e.gpuNs - last) / 1e6);
      }
      last = e.gpuNs;
      if (e.deliveredNs > end) end = e.deliveredNs;
    }
  }));
  clearTimeout(timer);
  const wallS = Number(end - start) / 1e9;
  const promptTokens = wl.prompts.reduce((a, p) => a + p.length, 0);
  const out: WorkloadRun = {
    policy: run.policy,
    tokenBudget: run.tokenBudget,
    requests: wl.prompts.length,
    cancelled,
    outputTokens,
    promptTokens,
    wallS,
    outputTokPerS: outputTokens / wallS,
    totalTokPerS: (outputTokens + promptTokens) / wallS,
    steps: loop.counters.steps,
    preemptions: loop.counters.preemptions,
    ttftMs: dist(ttft),
    ttftGpuMs: dist(ttftGpu),
    tbtMs: dist(tbt),
  };
  await loop.close();
  return out;
}
