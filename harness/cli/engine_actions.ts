/**
 * The engine's CLI commands as plain async functions (`tokentrace engine generate|verify`): they
 * compute and return results; printing is left to the renderers in engine_render.ts.
 *
 * @module
 */
import { requestEngineDevice } from "../../adapters/webgpu/device.ts";
import { ForwardEngine } from "../../adapters/webgpu/forward.ts";
import { generate, GREEDY } from "../../adapters/webgpu/generate.ts";
import type { StorageDtype } from "../../adapters/webgpu/kernels/geometry.ts";
import { openModel } from "../../adapters/webgpu/model_source.ts";
import {
  argmax,
  maxAbsError,
  parseOracle,
  relRmsError,
} from "../../adapters/webgpu/oracle.ts";
import type { SamplingParams } from "../../adapters/webgpu/step_batch.ts";

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
    /** Device, kernels and weight upload. */
    loadMs: number;
    /** From the generate call to the first id delivered (a readback batch arrives at once). */
    firstTokenMs: number;
    /** From the generate call to the last id. */
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
    maxContext: Math.ceil(need / 16) * 16,
    maxTokens: Math.min(256, opts.promptIds.length),
  });
  try {
    const sampling: SamplingParams = opts.greedy
      ? GREEDY
      : { temperature, topP, seed };
    const t1 = performance.now();
    let first = 0;
    const ids: number[] = [];
    const stopTokens = opts.stopAtEos ? src.config.eosTokenIds : [];
    for await (
      const id of generate(engine, opts.promptIds, {
        maxNewTokens: opts.maxTokens,
        sampling,
        stopTokens,
      })
    ) {
      if (ids.length === 0) first = performance.now();
      ids.push(id);
    }
    const t2 = performance.now();
    return {
      model: src.name,
      device: gpu.description,
      dtype: engine.dtype,
      promptIds: [...opts.promptIds],
      ids,
      finishReason: stopTokens.includes(ids[ids.length - 1])
        ? "stop"
        : "length",
      timing: {
        loadMs: t1 - t0,
        firstTokenMs: first - t1,
        totalMs: t2 - t1,
        tokensPerS: ids.length / ((t2 - t1) / 1000),
      },
    };
  } finally {
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
    maxContext: Math.ceil(longest / 16) * 16,
    maxTokens: Math.max(...oracle.cases.map((c) => c.prompt.length)),
  });
  try {
    const cases: VerifyCase[] = [];
    for (const c of oracle.cases) {
      const pages = engine.pages.allocate(Math.ceil(c.prompt.length / 16));
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
      engine.pages.free(pages);
      const got: number[] = [];
      for await (
        const id of generate(engine, c.prompt, {
          maxNewTokens: c.greedy.length,
        })
      ) got.push(id);
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
    engine.destroy();
    gpu.device.destroy();
  }
}
