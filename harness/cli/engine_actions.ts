/**
 * The engine's CLI commands as plain async functions (`tokentrace engine generate|verify`): they
 * compute and return results; printing is left to the renderers in engine_render.ts.
 *
 * @module
 */
import { requestEngineDevice } from "../../adapters/webgpu/step/device.ts";
import { EngineLoop } from "../../adapters/webgpu/serving/engine_loop.ts";
import { runRequest } from "../../adapters/webgpu/serving/engine_request.ts";
import { ForwardEngine } from "../../adapters/webgpu/step/forward.ts";
import type { StorageDtype } from "../../adapters/webgpu/kernels/geometry.ts";
import { PAGE_SIZE } from "../../adapters/webgpu/batch/kv_blocks.ts";
import { openModel } from "../../adapters/webgpu/model/model_source.ts";
import {
  argmax,
  maxAbsError,
  parseOracle,
  relRmsError,
} from "../../adapters/webgpu/reference/oracle.ts";
import {
  GREEDY,
  type SamplingParams,
} from "../../adapters/webgpu/batch/step_batch.ts";

/** Options of {@link engineGenerate} (CLI flags in brackets). */
export interface GenerateCommandOptions {
  /** Checkpoint directory or preset name [--model]. */
  model: string;
  /** Prompt token ids [--prompt-ids 1,2,3]. */
  promptIds: readonly number[];
  /** New tokens [--max-tokens N]. */
  maxTokens: number;
  /** Argmax decoding [--greedy] (default false: temperature sampling). */
  greedy?: boolean;
  /** Sampling temperature when not greedy [--temperature] (default 1). */
  temperature?: number;
  /** Nucleus mass when not greedy [--top-p] (default 1). */
  topP?: number;
  /** RNG seed [--seed] (default 0); also seeds preset weights. */
  seed?: number;
  /** Weights/KV storage [--dtype] (default `auto`: f16 when the adapter has shader-f16). */
  dtype?: StorageDtype | "auto";
  /** Stop at the model's EOS ids [--stop-at-eos] (default false: exactly maxTokens ids). */
  stopAtEos?: boolean;
}

/** What {@link engineGenerate} returns. */
export interface GenerateResult {
  model: string;
  device: string;
  dtype: StorageDtype;
  promptIds: number[];
  ids: number[];
  finishReason: "length" | "stop";
  timing: {
    /** Device, kernels, weight upload and the engine loop (its GPU clock calibrated). */
    loadMs: number;
    /** From the request's submission to the loop to the first id read back. */
    firstTokenMs: number;
    /** From the submission to the last id. */
    totalMs: number;
    /** ids / totalMs. */
    tokensPerS: number;
  };
}

/**
 * Parses `--prompt-ids` (`1,2,3`).
 *
 * @example
 * ```ts
 * import { parsePromptIds } from "./engine_actions.ts";
 * console.log(parsePromptIds("1, 2,3")); // [1, 2, 3]
 * ```
 */
export function parsePromptIds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const ids = parts.map(Number);
  const bad = parts.find((s, i) =>
    s === "" || !Number.isInteger(ids[i]) || ids[i] < 0
  );
  if (bad !== undefined) {
    throw new Error(
      `--prompt-ids: expected comma-separated integers >= 0, got ${
        JSON.stringify(bad)
      } in ${JSON.stringify(text)}`,
    );
  }
  return ids;
}

function checkDtype(v: unknown): StorageDtype | "auto" {
  if (v === undefined || v === "auto" || v === "f16" || v === "f32") {
    return v ?? "auto";
  }
  throw new Error(
    `--dtype: expected auto, f16 or f32, got ${JSON.stringify(v)}`,
  );
}

/**
 * Generates `maxTokens` ids after the prompt (fewer when `stopAtEos` meets an EOS id).
 *
 * @example
 * ```ts
 * import { engineGenerate } from "./engine_actions.ts";
 * import { renderGenerate } from "./engine_render.ts";
 * const r = await engineGenerate({ model: "tiny", promptIds: [1, 2, 3], maxTokens: 4, greedy: true });
 * console.log(renderGenerate(r, "text").split("\n")[0].startsWith("ids:")); // true
 * ```
 */
export async function engineGenerate(
  opts: GenerateCommandOptions,
): Promise<GenerateResult> {
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) {
    throw new Error(
      `--max-tokens: expected an integer >= 1, got ${opts.maxTokens}`,
    );
  }
  if (opts.promptIds.length === 0) {
    throw new Error("--prompt-ids: expected at least 1 id, got 0");
  }
  const temperature = opts.temperature ?? 1;
  const topP = opts.topP ?? 1;
  if (!(temperature > 0)) {
    throw new Error(`--temperature: expected > 0, got ${temperature}`);
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new Error(`--top-p: expected a value in (0, 1], got ${topP}`);
  }
  const dtype = checkDtype(opts.dtype);
  const seed = opts.seed ?? 0;
  const t0 = performance.now();
  const src = await openModel(opts.model, seed);
  const vocab = src.config.vocab;
  const badId = opts.promptIds.find((id) => id >= vocab);
  if (badId !== undefined) {
    throw new Error(
      `--prompt-ids: expected ids < vocab_size ${vocab}, got ${badId}`,
    );
  }
  const gpu = await requestEngineDevice();
  const need = opts.promptIds.length + opts.maxTokens;
  const engine = await ForwardEngine.create(gpu, src, {
    dtype: dtype === "auto" ? undefined : dtype,
    maxSeqs: 1,
    maxContext: Math.ceil(need / PAGE_SIZE) * PAGE_SIZE,
    maxTokens: Math.min(256, opts.promptIds.length),
  });
  const loop = await EngineLoop.create(engine, { prefixCaching: false });
  const t1 = performance.now();
  try {
    const sampling: SamplingParams = opts.greedy
      ? GREEDY
      : { temperature, topP, seed };
    const submitted = loop.nowNs();
    const r = await runRequest(loop, {
      id: "generate",
      prompt: opts.promptIds,
      maxTokens: opts.maxTokens,
      ignoreEos: !opts.stopAtEos,
      sampling,
    });
    const ms = (ns: bigint | null) =>
      Number((ns ?? submitted) - submitted) / 1e6;
    const totalMs = ms(r.lastNs);
    return {
      model: src.name,
      device: gpu.description,
      dtype: engine.dtype,
      promptIds: [...opts.promptIds],
      ids: r.ids,
      finishReason: r.finishReason === "stop" ? "stop" : "length",
      timing: {
        loadMs: t1 - t0,
        firstTokenMs: ms(r.firstNs),
        totalMs,
        tokensPerS: r.ids.length / (totalMs / 1000),
      },
    };
  } finally {
    await loop.close();
    engine.destroy();
    gpu.device.destroy();
  }
}

/** Options of {@link engineVerify}. */
export interface VerifyCommandOptions {
  /** Checkpoint directory holding `expected.json` [--model]. */
  model: string;
  /** Oracle file (default `<model>/expected.json`) [--expected]. */
  expected?: string;
  /** Storage dtype (default f32: the oracle checks numerics) [--dtype]. */
  dtype?: StorageDtype | "auto";
  /** Largest accepted relative RMS error of the last-position logits (default 1e-3) [--tolerance]. */
  tolerance?: number;
}

/** One prompt's comparison. */
export interface VerifyCase {
  promptTokens: number;
  /** Relative RMS error of the last-position logits against the oracle. */
  lastLogitsRelRms: number;
  lastLogitsMaxAbs: number;
  /** Positions whose logits argmax equals the oracle's, of promptTokens. */
  argmaxMatches: number;
  /** Index of the first differing greedy id, or -1 when all equal. */
  greedyFirstMismatch: number;
  greedyExpected: number[];
  greedyGot: number[];
  pass: boolean;
}

/** What {@link engineVerify} returns. */
export interface VerifyReport {
  model: string;
  device: string;
  dtype: StorageDtype;
  tolerance: number;
  cases: VerifyCase[];
  /** Every case within tolerance with identical greedy ids. */
  pass: boolean;
}

/**
 * Compares the engine against an oracle file: last-position logits, the argmax at every
 * position (one token per step) and the greedy continuation of every prompt.
 *
 * @example
 * ```ts
 * import { engineVerify } from "./engine_actions.ts";
 * await engineVerify({ model: "/nonexistent" }).catch((e) => console.log(e.message));
 * ```
 */
export async function engineVerify(
  opts: VerifyCommandOptions,
): Promise<VerifyReport> {
  const tolerance = opts.tolerance ?? 1e-3;
  const dtype = checkDtype(opts.dtype ?? "f32");
  const src = await openModel(opts.model);
  const path = opts.expected ?? `${opts.model}/expected.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`--expected: ${path}: file not found`);
    }
    throw e;
  }
  const oracle = parseOracle(JSON.parse(text), path);
  const longest = Math.max(
    ...oracle.cases.map((c) => c.prompt.length + c.greedy.length),
  );
  const gpu = await requestEngineDevice();
  const engine = await ForwardEngine.create(gpu, src, {
    dtype: dtype === "auto" ? undefined : dtype,
    maxSeqs: 1,
    maxContext: Math.ceil(longest / PAGE_SIZE) * PAGE_SIZE,
    maxTokens: Math.max(...oracle.cases.map((c) => c.prompt.length)),
  });
  // The loop runs the greedy continuations; while it is idle its block manager also hands out
  // the pages of the logits steps run directly on the engine.
  const loop = await EngineLoop.create(engine, { prefixCaching: false });
  try {
    const cases: VerifyCase[] = [];
    for (const [n, c] of oracle.cases.entries()) {
      const pages = loop.blocks.take(Math.ceil(c.prompt.length / PAGE_SIZE));
      const greedy1 = { ...GREEDY };
      // Whole prompt in one step: last-position logits.
      engine.submitStep({
        seqs: [{ slot: 0, start: 0, tokens: c.prompt, pages, sample: greedy1 }],
        logBase: 0,
      });
      const last = await engine.readLogits(1);
      // One token per step: the argmax at every position.
      let matches = 0;
      for (let t = 0; t < c.prompt.length; t++) {
        engine.submitStep({
          seqs: [{
            slot: 0,
            start: t,
            tokens: [c.prompt[t]],
            pages,
            sample: greedy1,
          }],
          logBase: 0,
        });
        if (argmax(await engine.readLogits(1)) === c.allLogitsArgmax[t]) {
          matches++;
        }
      }
      loop.blocks.release(pages);
      const { ids: got } = await runRequest(loop, {
        id: `case ${n}`,
        prompt: c.prompt,
        maxTokens: c.greedy.length,
        ignoreEos: true,
      });
      const mismatch = c.greedy.findIndex((id, i) => got[i] !== id);
      const rel = relRmsError(last, c.lastLogits);
      cases.push({
        promptTokens: c.prompt.length,
        lastLogitsRelRms: rel,
        lastLogitsMaxAbs: maxAbsError(last, c.lastLogits),
        argmaxMatches: matches,
        greedyFirstMismatch: mismatch,
        greedyExpected: c.greedy,
        greedyGot: got,
        pass: rel <= tolerance && mismatch === -1,
      });
    }
    return {
      model: src.name,
      device: gpu.description,
      dtype: engine.dtype,
      tolerance,
      cases,
      pass: cases.every((c) => c.pass),
    };
  } finally {
    await loop.close();
    engine.destroy();
    gpu.device.destroy();
  }
}
