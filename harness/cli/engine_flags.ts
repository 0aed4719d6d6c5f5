/**
 * The built-in engine's flags, shared by `run --backend webgpu`, `serve` and `bench`: parsed once
 * into {@link ServingEngineOptions}, every error naming its flag.
 *
 * @module
 */
import {
  ATTENTION_MODES,
  POLICIES,
  type ServingEngineOptions,
} from "../../adapters/webgpu/mod.ts";
import { FlagError, integerAtLeast, oneOf, positiveNumber } from "./flags.ts";

/** Raw engine flags as commander gives them. */
export interface EngineFlags {
  model?: string;
  policy?: string;
  attention?: string;
  tokenBudget?: string;
  tbtSlo?: string;
  maxSeqs?: string;
  kvBlocks?: string;
  maxContext?: string;
  stepsInFlight?: string;
  dtype?: string;
  prefixCache?: boolean;
}

/** Help text of each engine flag (the commands declare them with these words). */
export const ENGINE_FLAG_HELP = {
  model:
    "built-in engine: checkpoint folder or preset (tiny, smollm2-135m, qwen2.5-0.5b, llama-3.2-1b)",
  policy:
    "built-in engine: scheduling policy sarathi | prefill-first | decode-first",
  attention:
    "built-in engine: hybrid attention fused (one dispatch) | serial (two-dispatch baseline)",
  tokenBudget: "built-in engine: query tokens per step (default 512)",
  tbtSlo:
    "built-in engine: derive the token budget from this TBT SLO in ms (measured step-time model)",
  maxSeqs: "built-in engine: sequences running at once (default 16)",
  kvBlocks:
    "built-in engine: KV cache blocks of 16 tokens (default: max-seqs full contexts)",
  maxContext:
    "built-in engine: longest sequence in tokens (default min(model, 2048))",
  stepsInFlight:
    "built-in engine: steps submitted ahead of their readback (default 4)",
  dtype: "built-in engine: storage dtype auto | f16 | f32",
  prefixCache: "built-in engine: disable prefix caching",
} as const;

/**
 * Validates engine flags.
 *
 * @example
 * ```ts
 * import { parseEngineFlags } from "./engine_flags.ts";
 * console.log(parseEngineFlags({ model: "tiny", policy: "sarathi", tokenBudget: "256" }).tokenBudget); // 256
 * ```
 */
export function parseEngineFlags(f: EngineFlags): ServingEngineOptions {
  const int = (flag: string, v: string | undefined, min: number) =>
    v === undefined ? undefined : integerAtLeast(flag, v, min);
  const dtype = f.dtype === undefined || f.dtype === "auto"
    ? undefined
    : oneOf("--dtype", f.dtype, ["f16", "f32"] as const);
  const opts: ServingEngineOptions = {
    model: f.model ?? "tiny",
    policy: f.policy === undefined
      ? undefined
      : oneOf("--policy", f.policy, POLICIES),
    attention: f.attention === undefined
      ? undefined
      : oneOf("--attention", f.attention, ATTENTION_MODES),
    tokenBudget: int("--token-budget", f.tokenBudget, 1),
    tbtSloMs: f.tbtSlo === undefined
      ? undefined
      : positiveNumber("--tbt-slo", f.tbtSlo),
    maxSeqs: int("--max-seqs", f.maxSeqs, 1),
    kvBlocks: int("--kv-blocks", f.kvBlocks, 1),
    maxContext: int("--max-context", f.maxContext, 2),
    stepsInFlight: int("--steps-in-flight", f.stepsInFlight, 1),
    dtype,
    prefixCaching: f.prefixCache ?? true,
  };
  const seqs = opts.maxSeqs ?? 16;
  if (opts.tokenBudget !== undefined && opts.tokenBudget < seqs) {
    throw new FlagError(
      "--token-budget",
      f.tokenBudget,
      `an integer >= --max-seqs (${seqs}), so every decode fits one step`,
    );
  }
  return opts;
}
