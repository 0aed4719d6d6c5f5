/**
 * Where a one-sequence step's wall time goes in the serving loop: the readback latency of an
 * empty submission, then batch-1 generation through {@link EngineLoop} at fixed queue depths
 * and at the default queue (step_queue.ts), with and without the next step encoded before the
 * maps (EngineLoopOptions.encodeAhead), each with its host time per step (schedule, pack,
 * encode, submit: the step record's `cpuUs`), its GPU time per step (timestamps) and the share
 * of the wall time the GPU was busy; then the same decode steps submitted directly on the
 * engine (no scheduler, no events), bare or with the loop's per-step timestamps, copies and
 * readback, so the loop's own host cost shows as the difference. Prints one JSON object.
 *
 * `deno run -A adapters/webgpu/bench/loop_queue.ts [--preset tiny] [--tokens 256] [--target N]
 * [--min-split N] [--only default] [--no-fuse-rope] [--l2-prefetch] [--probe-submit]` (the
 * engine's attnTargetItems and attnMinSplitKeys; the default loop rows alone; qkv and rope_kv as
 * two dispatches; the L2 prefetch of small layers; one decode step submitted over and over, one
 * per submission, several per command buffer or several command buffers per submission)
 *
 * @module
 */
import type { EngineStepRow } from "../../backend.ts";
import { requestEngineDevice } from "../step/device.ts";
import { EngineLoop, type EngineLoopOptions } from "../serving/engine_loop.ts";
import { ForwardEngine } from "../step/forward.ts";
import { presetSource } from "../model/presets.ts";
import { timeBatch1 } from "./_engine.ts";
import { GREEDY } from "../batch/step_batch.ts";
import { StepReadback } from "../step/step_readback.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";

const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const preset = arg("--preset", "tiny");
// --target N: the engine's attnTargetItems (default the engine's); --only default: the default
// loop rows alone (no fixed queues, no direct steps).
const target = Deno.args.includes("--target")
  ? Number(arg("--target", ""))
  : undefined;
if (target !== undefined && !(Number.isInteger(target) && target >= 1)) {
  throw new Error(
    `--target: expected an integer >= 1, got ${arg("--target", "")}`,
  );
}
const onlyDefault = arg("--only", "") === "default";
// --min-split N: the engine's attnMinSplitKeys (default the key block).
const minSplit = Deno.args.includes("--min-split")
  ? Number(arg("--min-split", ""))
  : undefined;
// --no-fuse-rope: one-token steps run qkv and rope_kv as two dispatches (EngineOptions.fuseRope).
const fuseRope = !Deno.args.includes("--no-fuse-rope");
// --l2-prefetch: GEMV steps warm the L2 with o's and the next qkv's weights (EngineOptions).
const l2Prefetch = Deno.args.includes("--l2-prefetch");
const tokens = Number(arg("--tokens", "256"));
if (!(Number.isInteger(tokens) && tokens >= 16)) {
  throw new Error(
    `--tokens: expected an integer >= 16, got ${arg("--tokens", "")}`,
  );
}
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : null;
};

const gpu = await requestEngineDevice();
const d = gpu.device;
const src = d.createBuffer({
  size: 16,
  usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE,
});
const dst = d.createBuffer({
  size: 16,
  usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
});
const readbackMs: number[] = [];
for (let i = 0; i < 21; i++) {
  const enc = d.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, dst, 0, 16);
  const s = performance.now();
  d.queue.submit([enc.finish()]);
  await dst.mapAsync(GPUMapMode.READ);
  dst.unmap();
  readbackMs.push(performance.now() - s);
}

const prompt = Array.from({ length: 16 }, (_, i) => (i * 7 + 1) % 256);
const engine = await ForwardEngine.create(gpu, presetSource(preset), {
  maxSeqs: 4,
  maxContext: Math.ceil((prompt.length + tokens + 16) / 16) * 16,
  maxTokens: 64,
  logSize: 34 * 4,
  attnTargetItems: target,
  attnMinSplitKeys: minSplit,
  fuseRope,
  l2Prefetch,
});
const settings: { name: string; opts: EngineLoopOptions }[] = [
  ...(onlyDefault ? [] : [1, 2, 4, 8, 16]).map((k) => ({
    name: `fixed ${k}`,
    opts: { stepsInFlight: k, maxStepsInFlight: k },
  })),
  // The loop before encodeAhead: the step after the maps encoded only once they returned.
  { name: "default, no encode ahead", opts: { encodeAhead: false } },
  { name: "default", opts: {} },
];
const rows = [];
for (const { name, opts } of settings) {
  const loop = await EngineLoop.create(engine, {
    ...opts,
    prefixCaching: false,
  });
  const steps: EngineStepRow[] = [];
  loop.onStep = (r) => steps.push(r);
  const t0 = performance.now();
  const { decodeS } = await timeBatch1(loop, prompt, tokens);
  const wallMs = performance.now() - t0;
  const gpuMs = steps.flatMap((s) =>
    s.tGpuStartNs !== null && s.tGpuEndNs !== null
      ? [Number(s.tGpuEndNs - s.tGpuStartNs) / 1e6]
      : []
  );
  rows.push({
    queue: name,
    stepsInFlight: loop.stepsInFlight,
    maxStepsInFlight: loop.maxStepsInFlight,
    queueAheadMs: loop.queueAheadMs,
    encodeAhead: loop.encodeAhead,
    msPerToken: (decodeS * 1000) / tokens,
    hostUsPerStep: median(steps.map((s) => s.cpuUs)),
    gpuMsPerStep: median(gpuMs),
    gpuBusy: gpuMs.length ? gpuMs.reduce((a, b) => a + b, 0) / wallMs : null,
  });
  await loop.close();
}
/** Step `i` of the one sequence of the direct probes: its prefill (0), then one decode step. */
const decodeStep = (i: number, pages: number[], logBase: number) => ({
  seqs: [{
    slot: 0,
    start: i === 0 ? 0 : prompt.length + i - 1,
    tokens: i === 0 ? prompt : null,
    pages,
    sample: GREEDY,
  }],
  logBase,
});
// Direct steps: `tokens` decode steps of one sequence after its prefill, each prepared, encoded
// and submitted as the loop does; `readback` adds the loop's per-step timestamp resolve, copies
// and mapAsync, at most `depth` unread; without it one readback at the end (`depth` unused).
const direct = async (readback: boolean, depth: number) => {
  const loop = await EngineLoop.create(engine, { prefixCaching: false });
  const pages = loop.blocks.take(
    Math.ceil((prompt.length + tokens + 1) / PAGE_SIZE),
  );
  const ring = depth + 2;
  const rb = new StepReadback(d, gpu.timestamps, ring, 4);
  const log = {
    tokens: engine.tokenLogBuffer,
    logprobs: engine.logprobLogBuffer,
  };
  const pending: Promise<unknown>[] = [];
  let hostMs = 0;
  const step = (i: number) => {
    const h = performance.now();
    const slot = i % ring;
    const packed = engine.prepareStep(decodeStep(i, pages, slot * 4));
    const enc = d.createCommandEncoder();
    engine.encodeStep(
      enc,
      packed,
      readback ? rb.timestampWrites(slot) : undefined,
    );
    if (readback) rb.encodeCopies(enc, slot, log, slot * 4, 1);
    d.queue.submit([enc.finish()]);
    if (readback) pending.push(rb.read(slot, 1));
    if (i > 0) hostMs += performance.now() - h;
  };
  step(0);
  await engine.readTokenLog(0, 1);
  const t0 = performance.now();
  for (let i = 1; i <= tokens; i++) {
    if (pending.length >= depth) await pending.shift();
    step(i);
  }
  await Promise.all(pending);
  await engine.readTokenLog(0, 1);
  const wallMs = performance.now() - t0;
  rb.destroy();
  loop.blocks.release(pages);
  await loop.close();
  return {
    queue: `direct${readback ? ", per-step readback" : ""}, depth ${depth}`,
    msPerToken: wallMs / tokens,
    hostUsPerStep: (hostMs * 1000) / tokens,
  };
};
// Where the ~0.08 ms per step between the GPU step and the wall time of direct steps goes: the
// same decode step (one packing, its metadata written once) submitted `tokens` times, one step
// per submission, `per` steps encoded into one command buffer, or `per` command buffers in one
// submit (no readback until the end; the KV write lands on the same position each time).
const sameStep = async (
  mode: "submit" | "encoder" | "buffers",
  per: number,
) => {
  const loop = await EngineLoop.create(engine, { prefixCaching: false });
  const pages = loop.blocks.take(
    Math.ceil((prompt.length + tokens + 1) / PAGE_SIZE),
  );
  const batch = (i: number) => decodeStep(i, pages, 0);
  engine.submitStep(batch(0));
  await engine.readTokenLog(0, 1);
  const packed = engine.prepareStep(batch(1));
  await engine.readTokenLog(0, 1);
  const t0 = performance.now();
  for (let i = 0; i < tokens; i += per) {
    const cmds = [];
    let enc = d.createCommandEncoder();
    for (let j = 0; j < per; j++) {
      engine.encodeStep(enc, packed);
      if (mode !== "encoder") {
        cmds.push(enc.finish());
        enc = d.createCommandEncoder();
      }
    }
    if (mode === "encoder") cmds.push(enc.finish());
    if (mode === "buffers") d.queue.submit(cmds);
    else for (const c of cmds) d.queue.submit([c]);
  }
  await engine.readTokenLog(0, 1);
  const wallMs = performance.now() - t0;
  loop.blocks.release(pages);
  await loop.close();
  return {
    queue: `same step, ${
      mode === "submit"
        ? "one per submit"
        : mode === "encoder"
        ? `${per} per command buffer`
        : `${per} command buffers per submit`
    }`,
    msPerToken: wallMs / (Math.ceil(tokens / per) * per),
  };
};
const directRows = [];
if (Deno.args.includes("--probe-submit")) {
  directRows.push(await direct(false, 16));
  directRows.push(await sameStep("submit", 1));
  directRows.push(await sameStep("encoder", 8));
  directRows.push(await sameStep("buffers", 8));
  directRows.push(await direct(false, 16));
  directRows.push(await sameStep("submit", 1));
  directRows.push(await sameStep("encoder", 8));
}
for (
  const [r, k] of onlyDefault
    ? []
    : [[false, 16], [true, 4], [true, 16]] as const
) {
  directRows.push(await direct(r, k));
}
engine.destroy();
console.log(JSON.stringify(
  {
    adapter: gpu.description,
    preset,
    tokens,
    attnTargetItems: target ?? null,
    attnMinSplitKeys: minSplit ?? null,
    fuseRope,
    l2Prefetch,
    emptyReadbackMs: { p50: median(readbackMs), min: Math.min(...readbackMs) },
    rows,
    direct: directRows,
  },
  null,
  1,
));
d.destroy();
