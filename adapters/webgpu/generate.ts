/**
 * Generation of one sequence: prompt ids in, an async iterator of sampled ids out.
 *
 * No step waits for the GPU: the sample kernel writes each new id into the sequence's slot, where
 * the next step's embedding reads it (multi-step scheduling, docs/ENGINE.md). The host reads the
 * sampled ids back in batches of `stepsPerReadback` steps with two batches in flight, so a stop
 * token is noticed up to two batches late; ids after it are dropped.
 *
 * @module
 */
import type { ForwardEngine } from "./forward.ts";
import { PAGE_SIZE, type SamplingParams } from "./step_batch.ts";

/** Greedy decoding: argmax, lowest id on ties. */
export const GREEDY: SamplingParams = { temperature: 0, topP: 1, seed: 0 };

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** New tokens to produce, >= 1 (the stop token, when met, is the last one yielded). */
  maxNewTokens: number;
  /** Sampling (default {@link GREEDY}). */
  sampling?: SamplingParams;
  /** Ids that end the sequence (default none). */
  stopTokens?: readonly number[];
  /** Prompt tokens per prefill step (default the engine's token budget). */
  prefillChunk?: number;
  /** Steps per readback of sampled ids (default 8). */
  stepsPerReadback?: number;
  /** Sequence slot (default 0); concurrent generations on one engine need distinct slots. */
  slot?: number;
}

/**
 * Runs `prompt` through the engine and yields the sampled ids one by one.
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "./device.ts";
 * import { ForwardEngine } from "./forward.ts";
 * import { generate } from "./generate.ts";
 * import { presetSource } from "./presets.ts";
 * const engine = await ForwardEngine.create(await requestEngineDevice(), presetSource("tiny"));
 * const ids: number[] = [];
 * for await (const id of generate(engine, [1, 2, 3], { maxNewTokens: 4 })) ids.push(id);
 * console.log(ids.length); // 4
 * engine.destroy();
 * ```
 */
export async function* generate(
  engine: ForwardEngine,
  prompt: readonly number[],
  opts: GenerateOptions,
): AsyncGenerator<number, void, undefined> {
  const n = opts.maxNewTokens;
  const N = opts.stepsPerReadback ?? 8;
  const chunk = opts.prefillChunk ?? engine.limits.maxTokens;
  const slot = opts.slot ?? 0;
  const sample = opts.sampling ?? GREEDY;
  const stop = new Set(opts.stopTokens ?? []);
  const P = prompt.length;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`maxNewTokens: expected an integer >= 1, got ${n}`);
  }
  if (P < 1) throw new Error("prompt: expected at least 1 token, got 0");
  if (!(chunk >= 1 && chunk <= engine.limits.maxTokens)) {
    throw new Error(
      `prefillChunk: expected 1..${engine.limits.maxTokens}, got ${chunk}`,
    );
  }
  if (P + n - 1 > engine.limits.maxContext) {
    throw new Error(
      `Prompt of ${P} tokens + ${n} new tokens: expected at most ${
        engine.limits.maxContext + 1
      } in total (maxContext ${engine.limits.maxContext})`,
    );
  }
  // Token i is logged at ringBase + i % ring; batches of N never wrap the ring of 2N.
  const ring = 2 * N;
  const ringBase = slot * ring;
  if (ringBase + ring > engine.limits.logSize) {
    throw new Error(
      `Slot ${slot}: its token log ring [${ringBase}, ${
        ringBase + ring
      }) exceeds the log size ${engine.limits.logSize}`,
    );
  }
  const device = engine.gpu.device;
  const pages = engine.pages.allocate(Math.ceil((P + n - 1) / PAGE_SIZE));
  const staging = [0, 1].map((i) =>
    device.createBuffer({
      label: `sampled ids readback ${i} [${N}] u32`,
      size: N * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    })
  );
  const submitBatch = (b: number): Promise<Uint32Array> => {
    const first = b * N;
    const last = Math.min(first + N, n);
    for (let i = first; i < last; i++) {
      const logBase = ringBase + (i % ring);
      if (i === 0) {
        for (let s = 0; s < P; s += chunk) {
          const end = Math.min(s + chunk, P);
          engine.submitStep({
            seqs: [{
              slot,
              start: s,
              tokens: prompt.slice(s, end),
              pages,
              sample: end === P ? sample : null,
            }],
            logBase,
          });
        }
      } else {
        engine.submitStep({
          seqs: [{ slot, start: P + i - 1, tokens: null, pages, sample }],
          logBase,
        });
      }
    }
    const buf = staging[b % 2];
    const bytes = (last - first) * 4;
    const enc = device.createCommandEncoder({ label: "sampled ids readback" });
    enc.copyBufferToBuffer(
      engine.tokenLogBuffer,
      (ringBase + (first % ring)) * 4,
      buf,
      0,
      bytes,
    );
    device.queue.submit([enc.finish()]);
    return buf.mapAsync(GPUMapMode.READ, 0, bytes).then(() => {
      const ids = new Uint32Array(buf.getMappedRange(0, bytes).slice(0));
      buf.unmap();
      return ids;
    });
  };
  const batches = Math.ceil(n / N);
  const pending: Promise<Uint32Array>[] = [];
  try {
    pending.push(submitBatch(0));
    if (batches > 1) pending.push(submitBatch(1));
    for (let b = 0; b < batches; b++) {
      const ids = await pending.shift()!;
      if (b + 2 < batches) pending.push(submitBatch(b + 2));
      for (const id of ids) {
        yield id;
        if (stop.has(id)) return;
      }
    }
  } finally {
    await Promise.allSettled(pending);
    for (const s of staging) s.destroy();
    engine.pages.free(pages);
  }
}
