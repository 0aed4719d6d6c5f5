/**
 * Model configuration: a Hugging Face `config.json` of a Llama-family causal LM, validated into
 * the shape numbers the engine needs.
 *
 * Shape letters used across the engine (declared once, here):
 * - `L` layers, `C` hidden size, `H` query heads, `G` key/value heads, `D` head size,
 * - `I` MLP intermediate size, `V` vocabulary size.
 *
 * @module
 */

/** RoPE frequency scaling the engine implements. */
export type RopeScaling =
  | { type: "default" }
  | {
    type: "llama3";
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositionEmbeddings: number;
  };

/** The validated shape and numerics of a Llama-family model. */
export interface ModelConfig {
  /** Architecture family the config came from (`llama`, `mistral`, `qwen2`). */
  family: "llama" | "mistral" | "qwen2";
  /** L: decoder layers. */
  numLayers: number;
  /** C: hidden size. */
  hidden: number;
  /** H: query heads. */
  numHeads: number;
  /** G: key/value heads (H % G == 0). */
  numKvHeads: number;
  /** D: head size (may differ from C / H). */
  headDim: number;
  /** I: MLP intermediate size. */
  intermediate: number;
  /** V: vocabulary size. */
  vocab: number;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** RoPE base. */
  ropeTheta: number;
  /** RoPE frequency scaling. */
  ropeScaling: RopeScaling;
  /** LM head shares the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2; Llama with `attention_bias`). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama with `attention_bias`). */
  oBias: boolean;
  /** gate/up/down projections carry a bias (Llama with `mlp_bias`). */
  mlpBias: boolean;
  /** Longest context the model was trained for. */
  maxPositionEmbeddings: number;
  /** Sliding-window size when the model uses one (sequences longer than it are refused). */
  slidingWindow: number | null;
  /** End-of-sequence token ids. */
  eosTokenIds: number[];
}

const FAMILIES: Record<string, ModelConfig["family"]> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
};

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, where: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${where}: field "${key}" is missing`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(
      `${where}: field "${key}": expected a number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function posInt(
  cfg: Json,
  key: string,
  where: string,
  fallback?: number,
): number {
  const v = num(cfg, key, where, fallback);
  if (!Number.isInteger(v) || v <= 0) {
    throw new Error(
      `${where}: field "${key}": expected a positive integer, got ${v}`,
    );
  }
  return v;
}

function parseRope(
  cfg: Json,
  where: string,
): { theta: number; scaling: RopeScaling } {
  // transformers 5 writes `rope_parameters`; older files write `rope_theta` + `rope_scaling`.
  const params = (cfg.rope_parameters ?? cfg.rope_scaling ?? null) as
    | Json
    | null;
  const field = cfg.rope_parameters !== undefined
    ? "rope_parameters"
    : "rope_scaling";
  const theta = params && typeof params.rope_theta === "number"
    ? params.rope_theta
    : num(cfg, "rope_theta", where, 10000);
  if (params === null) return { theta, scaling: { type: "default" } };
  const type = (params.rope_type ?? params.type ?? "default") as string;
  if (type === "default") return { theta, scaling: { type: "default" } };
  if (type === "llama3") {
    const f = `${where}: field "${field}"`;
    return {
      theta,
      scaling: {
        type: "llama3",
        factor: num(params, "factor", f),
        lowFreqFactor: num(params, "low_freq_factor", f),
        highFreqFactor: num(params, "high_freq_factor", f),
        originalMaxPositionEmbeddings: num(
          params,
          "original_max_position_embeddings",
          f,
        ),
      },
    };
  }
  throw new Error(
    `${where}: field "${field}.rope_type": expected "default" or "llama3", got ${
      JSON.stringify(type)
    }`,
  );
}

/**
 * Validates a parsed Hugging Face `config.json` into a {@link ModelConfig}.
 *
 * `where` names the source in error messages (a path, or `preset tiny`).
 *
 * @example
 * ```ts
 * import { parseModelConfig } from "./config.ts";
 * const cfg = parseModelConfig({
 *   architectures: ["LlamaForCausalLM"], hidden_size: 64, intermediate_size: 176,
 *   num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 256,
 *   rms_norm_eps: 1e-5, rope_theta: 10000,
 * }, "config.json");
 * console.log(cfg.headDim); // 16
 * ```
 */
export function parseModelConfig(raw: unknown, where: string): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${where}: expected a JSON object`);
  }
  const cfg = raw as Json;
  const archs = cfg.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === "string"
    ? archs[0]
    : undefined;
  const family = arch ? FAMILIES[arch] : undefined;
  if (!family) {
    throw new Error(
      `${where}: field "architectures": expected one of ${
        Object.keys(FAMILIES).join(", ")
      }, got ${JSON.stringify(archs)}`,
    );
  }
  const act = cfg.hidden_act ?? "silu";
  if (act !== "silu") {
    throw new Error(
      `${where}: field "hidden_act": expected "silu", got ${
        JSON.stringify(act)
      }`,
    );
  }
  const hidden = posInt(cfg, "hidden_size", where);
  const numHeads = posInt(cfg, "num_attention_heads", where);
  const numKvHeads = posInt(cfg, "num_key_value_heads", where, numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new Error(
      `${where}: field "num_key_value_heads": expected a divisor of num_attention_heads ${numHeads}, got ${numKvHeads}`,
    );
  }
  const headDim = posInt(cfg, "head_dim", where, Math.floor(hidden / numHeads));
  if (headDim % 2 !== 0) {
    throw new Error(
      `${where}: field "head_dim": expected an even number, got ${headDim}`,
    );
  }
  const partial = num(cfg, "partial_rotary_factor", where, 1);
  if (partial !== 1) {
    throw new Error(
      `${where}: field "partial_rotary_factor": expected 1, got ${partial}`,
    );
  }
  const rope = parseRope(cfg, where);
  const attentionBias = cfg.attention_bias === true;
  const useSliding = family === "mistral" ||
    (family === "qwen2" && cfg.use_sliding_window === true);
  const sw = cfg.sliding_window;
  const eos = cfg.eos_token_id;
  return {
    family,
    numLayers: posInt(cfg, "num_hidden_layers", where),
    hidden,
    numHeads,
    numKvHeads,
    headDim,
    intermediate: posInt(cfg, "intermediate_size", where),
    vocab: posInt(cfg, "vocab_size", where),
    rmsNormEps: num(cfg, "rms_norm_eps", where, 1e-6),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    qkvBias: family === "qwen2" || attentionBias,
    oBias: family !== "qwen2" && attentionBias,
    mlpBias: cfg.mlp_bias === true,
    maxPositionEmbeddings: posInt(cfg, "max_position_embeddings", where, 2048),
    slidingWindow: useSliding && typeof sw === "number" ? sw : null,
    eosTokenIds: typeof eos === "number"
      ? [eos]
      : Array.isArray(eos)
      ? eos.filter((x): x is number => typeof x === "number")
      : [],
  };
}

/**
 * Inverse RoPE frequencies `inv_freq[i] = theta^(-2i/D)` for i < D/2, with `llama3` scaling
 * applied as transformers does (`_compute_llama3_parameters`).
 *
 * @example
 * ```ts
 * import { ropeInvFreq } from "./config.ts";
 * console.log(ropeInvFreq(4, 10000, { type: "default" })); // Float64Array [1, 0.01]
 * ```
 */
export function ropeInvFreq(
  headDim: number,
  theta: number,
  scaling: RopeScaling,
): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    out[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  }
  if (scaling.type === "llama3") {
    const {
      factor,
      lowFreqFactor,
      highFreqFactor,
      originalMaxPositionEmbeddings: old,
    } = scaling;
    const lowWavelen = old / lowFreqFactor;
    const highWavelen = old / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = out[i];
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) {
        out[i] = f / factor;
        continue;
      }
      const smooth = (old / wavelen - lowFreqFactor) /
        (highFreqFactor - lowFreqFactor);
      out[i] = (1 - smooth) * (f / factor) + smooth * f;
    }
  }
  return out;
}
