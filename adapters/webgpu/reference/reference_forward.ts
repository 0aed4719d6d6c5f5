/**
 * CPU reference forward of a Llama-family model in TypeScript, accumulating in f64: the oracle
 * the GPU forward is tested against (on any weights, including f16-rounded ones).
 *
 * @module
 */
import { type ModelConfig, ropeInvFreq } from "../model/config.ts";
import {
  attendRef,
  linearRef,
  rmsnormRef,
  ropeRef,
} from "./reference_kernels.ts";
import type { ModelWeights } from "../model/weights.ts";

/**
 * One sequence on the CPU: a contiguous KV cache per layer and a forward over new tokens.
 *
 * @example
 * ```ts
 * import { ReferenceSequence } from "./reference_forward.ts";
 * import { loadHostWeights } from "../model/weights.ts";
 * import { presetSource } from "../model/presets.ts";
 * const src = presetSource("tiny");
 * const seq = new ReferenceSequence(src.config, await loadHostWeights(src));
 * const logits = seq.forward([1, 2, 3]);
 * console.log(logits.length, logits[0].length); // 3 256
 * ```
 */
export class ReferenceSequence {
  /** Per layer: keys [pos][G * D] after RoPE. */
  private keys: number[][][];
  /** Per layer: values [pos][G * D]. */
  private values: number[][][];
  private readonly invFreq: Float64Array;

  constructor(
    /** The model's config. */
    readonly config: ModelConfig,
    /** The model's weights. */
    readonly weights: ModelWeights,
  ) {
    this.keys = weights.layers.map(() => []);
    this.values = weights.layers.map(() => []);
    this.invFreq = ropeInvFreq(
      config.headDim,
      config.ropeTheta,
      config.ropeScaling,
    );
  }

  /** Tokens in the cache. */
  get length(): number {
    return this.keys[0]?.length ?? 0;
  }

  /** Runs `tokens` after the cached ones and returns the logits of each: [T][V] f64. */
  forward(tokens: readonly number[]): Float64Array[] {
    const c = this.config;
    const {
      hidden: C,
      numHeads: H,
      numKvHeads: G,
      headDim: D,
      intermediate: I,
      vocab: V,
    } = c;
    const T = tokens.length;
    const start = this.length;
    const w = this.weights;
    // x: [T, C] f64 hidden state
    let x: Float64Array = new Float64Array(T * C);
    tokens.forEach((id, t) => {
      for (let i = 0; i < C; i++) x[t * C + i] = w.embed[id * C + i];
    });
    const QKV = (H + 2 * G) * D;
    for (let l = 0; l < c.numLayers; l++) {
      const lw = w.layers[l];
      const xn = rmsnormRef(x, lw.ln1, C, c.rmsNormEps);
      const qkv = linearRef(xn, lw.qkv, T, QKV, C, { bias: lw.qkvBias }); // [T, QKV]
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H + G; h++) {
          ropeRef(qkv, t * QKV + h * D, start + t, this.invFreq);
        }
        this.keys[l].push(
          Array.from(qkv.subarray(t * QKV + H * D, t * QKV + (H + G) * D)),
        );
        this.values[l].push(
          Array.from(qkv.subarray(t * QKV + (H + G) * D, (t + 1) * QKV)),
        );
      }
      const kv = [...this.keys[l].flat(), ...this.values[l].flat()];
      const n0 = this.keys[l].length;
      const attn = new Float64Array(T * H * D); // [T, H * D]
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / G));
          const o = attendRef(
            qkv,
            t * QKV + h * D,
            kv,
            start + t + 1,
            D,
            (j) => j * G * D + g * D,
            (j) => n0 * G * D + j * G * D + g * D,
          );
          attn.set(o, (t * H + h) * D);
        }
      }
      x = linearRef(attn, lw.o, T, C, H * D, { bias: lw.oBias, residual: x });
      const xn2 = rmsnormRef(x, lw.ln2, C, c.rmsNormEps);
      const gu = linearRef(xn2, lw.gateUp, T, 2 * I, C, {
        bias: lw.gateUpBias,
      }); // [T, 2I]
      x = linearRef(gu, lw.down, T, C, I, {
        bias: lw.downBias,
        residual: x,
        siluMul: true,
      });
    }
    const xf = rmsnormRef(x, w.norm, C, c.rmsNormEps);
    const logits = linearRef(xf, w.lmHead, T, V, C);
    return Array.from(
      { length: T },
      (_, t) => logits.slice(t * V, (t + 1) * V),
    );
  }
}

/**
 * Greedy continuation on the CPU: `n` argmax tokens after `prompt`.
 *
 * @example
 * ```ts
 * import { referenceGreedy } from "./reference_forward.ts";
 * import { loadHostWeights } from "../model/weights.ts";
 * import { presetSource } from "../model/presets.ts";
 * const src = presetSource("tiny");
 * console.log((referenceGreedy(src.config, await loadHostWeights(src), [1, 2], 3)).length); // 3
 * ```
 */
export function referenceGreedy(
  config: ModelConfig,
  weights: ModelWeights,
  prompt: readonly number[],
  n: number,
): number[] {
  const seq = new ReferenceSequence(config, weights);
  const out: number[] = [];
  let logits = seq.forward(prompt);
  for (let i = 0; i < n; i++) {
    const last = logits[logits.length - 1];
    let arg = 0;
    for (let v = 1; v < last.length; v++) if (last[v] > last[arg]) arg = v;
    out.push(arg);
    if (i + 1 < n) logits = seq.forward([arg]);
  }
  return out;
}
