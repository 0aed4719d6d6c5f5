/**
 * Synthetic model presets: real model shapes with seeded random weights, so speed can be measured
 * without downloading a checkpoint.
 *
 * @module
 */
import { type ModelConfig, parseModelConfig } from "./config.ts";
import type { WeightSource } from "./weights.ts";

const BASE = { hidden_act: "silu", max_position_embeddings: 131072 };

/** The Hugging Face configs the presets copy (shapes and RoPE of the public models). */
export const PRESET_CONFIGS: Record<string, Record<string, unknown>> = {
  "tiny": {
    ...BASE,
    architectures: ["LlamaForCausalLM"],
    hidden_size: 64,
    intermediate_size: 176,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    vocab_size: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 512,
    eos_token_id: 2,
  },
  "smollm2-135m": {
    ...BASE,
    architectures: ["LlamaForCausalLM"],
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    tie_word_embeddings: true,
    max_position_embeddings: 8192,
    eos_token_id: 0,
  },
  "qwen2.5-0.5b": {
    ...BASE,
    architectures: ["Qwen2ForCausalLM"],
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    vocab_size: 151936,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    max_position_embeddings: 32768,
    eos_token_id: 151643,
  },
  "llama-3.2-1b": {
    ...BASE,
    architectures: ["LlamaForCausalLM"],
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    vocab_size: 128256,
    rms_norm_eps: 1e-5,
    rope_parameters: {
      rope_type: "llama3",
      rope_theta: 500000,
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
    tie_word_embeddings: true,
    eos_token_id: [128001, 128008, 128009],
  },
};

/** Names of the synthetic presets. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESET_CONFIGS);

/**
 * The presets whose largest weight (the embedding `[V, C]` or the fused gate+up `[2I, C]`) fits
 * one storage binding of `maxBindingBytes` at `bytesPerElement` (2 for f16, 4 for f32): on a
 * CPU's software adapter (128 MiB bindings) that is `tiny` and `smollm2-135m`.
 *
 * @example
 * ```ts
 * import { presetsFitting } from "./presets.ts";
 * console.log(presetsFitting(128 * 2 ** 20, 2)); // [ "tiny", "smollm2-135m" ]
 * ```
 */
export function presetsFitting(
  maxBindingBytes: number,
  bytesPerElement: number,
): string[] {
  return PRESET_NAMES.filter((name) => {
    const c = PRESET_CONFIGS[name];
    const C = c.hidden_size as number;
    const largest = Math.max(
      (c.vocab_size as number) * C,
      2 * (c.intermediate_size as number) * C,
    );
    return largest * bytesPerElement <= maxBindingBytes;
  });
}

/** FNV-1a hash of a string, mixed with a seed: a per-tensor stream id. */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Fills `out` with uniform values in `[center - half, center + half)` from a mulberry32 stream.
 *
 * @example
 * ```ts
 * import { fillUniform } from "./presets.ts";
 * const a = fillUniform(new Float32Array(3), 7, 0, 1);
 * console.log(a.every((x) => x >= -1 && x < 1)); // true
 * ```
 */
export function fillUniform(
  out: Float32Array,
  seed: number,
  center: number,
  half: number,
): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = center + (2 * u - 1) * half;
  }
  return out;
}

/**
 * A {@link WeightSource} of seeded random weights for a preset or any config: matrices uniform
 * with standard deviation 0.02 (the Hugging Face init), norm weights around 1, biases small.
 * Every tensor depends only on (seed, tensor name).
 *
 * @example
 * ```ts
 * import { presetSource } from "./presets.ts";
 * const src = presetSource("tiny", 1);
 * const w = await src.read("model.norm.weight", [64]);
 * console.log(w.length, src.config.numLayers); // 64 2
 * ```
 */
export function presetSource(
  name: string,
  seed = 0,
  config?: ModelConfig,
): WeightSource {
  const raw = PRESET_CONFIGS[name];
  if (!raw && !config) {
    throw new Error(
      `Unknown model preset ${JSON.stringify(name)}: expected one of ${
        PRESET_NAMES.join(", ")
      }`,
    );
  }
  const cfg = config ?? parseModelConfig(raw, `preset ${name}`);
  return {
    name: `preset:${name}`,
    config: cfg,
    has: () => true,
    read: (tensor, shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const s = hashName(seed, tensor);
      const out = new Float32Array(n);
      if (tensor.endsWith("norm.weight")) {
        return Promise.resolve(fillUniform(out, s, 1, 0.1));
      }
      if (tensor.endsWith(".bias")) {
        return Promise.resolve(fillUniform(out, s, 0, 0.05));
      }
      return Promise.resolve(fillUniform(out, s, 0, 0.02 * Math.sqrt(3)));
    },
  };
}
