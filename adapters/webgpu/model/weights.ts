/**
 * Model weights in the engine's layout: Hugging Face tensor names and shapes, with q/k/v fused
 * into one matrix and gate/up fused into another, read layer by layer from a
 * {@link WeightSource} (a checkpoint or a synthetic preset).
 *
 * @module
 */
import type { ModelConfig } from "./config.ts";

/** Where tensors come from: a safetensors checkpoint or seeded random weights. */
export interface WeightSource {
  /** Model name for display and run records. */
  readonly name: string;
  /** The model's validated config. */
  readonly config: ModelConfig;
  /** Whether the source holds a tensor. */
  has(name: string): boolean;
  /** Reads a tensor as f32; throws an error naming the tensor when absent or of another shape. */
  read(name: string, shape: readonly number[]): Promise<Float32Array>;
}

/** One decoder layer, fused. Row-major, `[out, in]` like `nn.Linear.weight`. */
export interface LayerWeights {
  /** [C] f32 input_layernorm */
  ln1: Float32Array;
  /** [(H + 2G) * D, C] f32: rows q, then k, then v */
  qkv: Float32Array;
  /** [(H + 2G) * D] f32, or null */
  qkvBias: Float32Array | null;
  /** [C, H * D] f32 o_proj */
  o: Float32Array;
  /** [C] f32, or null */
  oBias: Float32Array | null;
  /** [C] f32 post_attention_layernorm */
  ln2: Float32Array;
  /** [2I, C] f32: rows gate, then up */
  gateUp: Float32Array;
  /** [2I] f32, or null */
  gateUpBias: Float32Array | null;
  /** [C, I] f32 down_proj */
  down: Float32Array;
  /** [C] f32, or null */
  downBias: Float32Array | null;
}

/** Embedding, final norm and LM head. */
export interface GlobalWeights {
  /** [V, C] f32 */
  embed: Float32Array;
  /** [C] f32 final norm */
  norm: Float32Array;
  /** [V, C] f32; the same array as `embed` when tied */
  lmHead: Float32Array;
}

/** All weights of a model, on the host (for the CPU reference and small models). */
export interface ModelWeights extends GlobalWeights {
  layers: LayerWeights[];
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads and fuses layer `l`.
 *
 * @example
 * ```ts
 * import { readLayer } from "./weights.ts";
 * import { presetSource } from "./presets.ts";
 * const layer = await readLayer(presetSource("tiny"), 0);
 * console.log(layer.qkv.length); // (4 + 2 * 2) * 16 * 64
 * ```
 */
export async function readLayer(
  src: WeightSource,
  l: number,
): Promise<LayerWeights> {
  const c = src.config;
  const { hidden: C, numHeads: H, numKvHeads: G, headDim: D, intermediate: I } =
    c;
  const p = `model.layers.${l}.`;
  const a = `${p}self_attn.`;
  const m = `${p}mlp.`;
  const bias = async (name: string, n: number, on: boolean) =>
    on ? await src.read(name, [n]) : null;
  const qkvBias = c.qkvBias
    ? concat([
      (await bias(`${a}q_proj.bias`, H * D, true))!,
      (await bias(`${a}k_proj.bias`, G * D, true))!,
      (await bias(`${a}v_proj.bias`, G * D, true))!,
    ])
    : null;
  const gateUpBias = c.mlpBias
    ? concat([
      (await bias(`${m}gate_proj.bias`, I, true))!,
      (await bias(`${m}up_proj.bias`, I, true))!,
    ])
    : null;
  return {
    ln1: await src.read(`${p}input_layernorm.weight`, [C]),
    qkv: concat([
      await src.read(`${a}q_proj.weight`, [H * D, C]),
      await src.read(`${a}k_proj.weight`, [G * D, C]),
      await src.read(`${a}v_proj.weight`, [G * D, C]),
    ]),
    qkvBias,
    o: await src.read(`${a}o_proj.weight`, [C, H * D]),
    oBias: await bias(`${a}o_proj.bias`, C, c.oBias),
    ln2: await src.read(`${p}post_attention_layernorm.weight`, [C]),
    gateUp: concat([
      await src.read(`${m}gate_proj.weight`, [I, C]),
      await src.read(`${m}up_proj.weight`, [I, C]),
    ]),
    gateUpBias,
    down: await src.read(`${m}down_proj.weight`, [C, I]),
    downBias: await bias(`${m}down_proj.bias`, C, c.mlpBias),
  };
}

/**
 * Reads the embedding, final norm and LM head (the embedding itself when tied).
 *
 * @example
 * ```ts
 * import { readGlobals } from "./weights.ts";
 * import { presetSource } from "./presets.ts";
 * const g = await readGlobals(presetSource("tiny"));
 * console.log(g.embed.length); // 256 * 64
 * ```
 */
export async function readGlobals(src: WeightSource): Promise<GlobalWeights> {
  const { vocab: V, hidden: C, tieWordEmbeddings } = src.config;
  const embed = await src.read("model.embed_tokens.weight", [V, C]);
  const norm = await src.read("model.norm.weight", [C]);
  const lmHead = tieWordEmbeddings
    ? embed
    : await src.read("lm_head.weight", [V, C]);
  return { embed, norm, lmHead };
}

/**
 * Reads every tensor of a model into host memory.
 *
 * @example
 * ```ts
 * import { loadHostWeights } from "./weights.ts";
 * import { presetSource } from "./presets.ts";
 * console.log((await loadHostWeights(presetSource("tiny"))).layers.length); // 2
 * ```
 */
export async function loadHostWeights(
  src: WeightSource,
): Promise<ModelWeights> {
  const layers: LayerWeights[] = [];
  for (let l = 0; l < src.config.numLayers; l++) {
    layers.push(await readLayer(src, l));
  }
  return { ...(await readGlobals(src)), layers };
}
