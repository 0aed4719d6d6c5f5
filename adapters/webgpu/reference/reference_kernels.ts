/**
 * TypeScript references of the WGSL kernels (f64 accumulation), with the same contracts as the
 * kernel headers. Tests compare every kernel against these on random inputs; the CPU reference
 * forward (reference_forward.ts) is built from them.
 *
 * @module
 */
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import { HDR, ROW_WORDS } from "../batch/step_batch.ts";

/**
 * RMSNorm of rows: `y[r] = g * x[row(r)] / sqrt(mean(x[row(r)]^2) + eps)`.
 *
 * @example
 * ```ts
 * import { rmsnormRef } from "./reference_kernels.ts";
 * console.log(rmsnormRef(new Float32Array([3, 4]), new Float32Array([1, 1]), 2, 0)[0].toFixed(3)); // 0.849
 * ```
 */
export function rmsnormRef(
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  C: number,
  eps: number,
  rows?: readonly number[],
): Float64Array {
  const rowIds = rows ?? Array.from({ length: x.length / C }, (_, i) => i);
  const y = new Float64Array(rowIds.length * C);
  rowIds.forEach((row, r) => {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[row * C + c] ** 2;
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = g[c] * x[row * C + c] * inv;
  });
  return y;
}

/** Options of {@link linearRef}. */
export interface LinearRefOptions {
  /** [N] bias, added when given. */
  bias?: ArrayLike<number> | null;
  /** [M, N] values the result is added to (the residual), when given. */
  residual?: ArrayLike<number> | null;
  /** Input rows are `[gate | up]` of width 2K and the input is silu(gate) * up (default false). */
  siluMul?: boolean;
}

/** `silu(v) = v / (1 + exp(-v))`. */
export const silu = (v: number): number => v / (1 + Math.exp(-v));

/**
 * Linear layer `y[m, n] = residual[m, n] + sum_k a(m, k) W[n, k] + bias[n]`, W as `[N, K]`.
 *
 * @example
 * ```ts
 * import { linearRef } from "./reference_kernels.ts";
 * console.log(linearRef(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2)); // Float64Array [11]
 * ```
 */
export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  opts: LinearRefOptions = {},
): Float64Array {
  const XS = opts.siluMul ? 2 * K : K;
  const a = new Float64Array(K);
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      a[k] = opts.siluMul
        ? silu(x[m * XS + k]) * x[m * XS + K + k]
        : x[m * XS + k];
    }
    for (let n = 0; n < N; n++) {
      let acc = 0;
      const wb = n * K;
      for (let k = 0; k < K; k++) acc += a[k] * w[wb + k];
      if (opts.bias) acc += opts.bias[n];
      if (opts.residual) acc += opts.residual[m * N + n];
      y[m * N + n] = acc;
    }
  }
  return y;
}

/**
 * Rotates one head vector in place by RoPE (rotate-half) at position `pos`.
 *
 * @example
 * ```ts
 * import { ropeRef } from "./reference_kernels.ts";
 * const v = [1, 0];
 * ropeRef(v, 0, 1, [Math.PI / 2]);
 * console.log(v.map((x) => Math.round(x))); // [0, 1]
 * ```
 */
export function ropeRef(
  v: { [i: number]: number; length: number },
  at: number,
  pos: number,
  invFreq: ArrayLike<number>,
): void {
  const half = invFreq.length;
  for (let i = 0; i < half; i++) {
    const a = pos * invFreq[i];
    const c = Math.cos(a);
    const s = Math.sin(a);
    const x0 = v[at + i];
    const x1 = v[at + i + half];
    v[at + i] = x0 * c - x1 * s;
    v[at + i + half] = x1 * c + x0 * s;
  }
}

/** Shape numbers of the attention references. */
export interface AttnDims {
  H: number;
  G: number;
  D: number;
}

/** Element index of K (kind 0) or V (kind 1) of `slot` in the paged cache layout of rope_kv.wgsl. */
export function cacheIndex(
  dims: AttnDims,
  layerBase: number,
  slot: number,
  kind: number,
  g: number,
): number {
  const page = Math.floor(slot / PAGE_SIZE);
  return layerBase +
    (((page * 2 + kind) * dims.G + g) * PAGE_SIZE + (slot % PAGE_SIZE)) *
      dims.D;
}

/**
 * Causal attention of one query vector over `n` keys: `sum_j softmax_j(q.k_j / sqrt(D)) v_j`.
 * `key(j)` and `value(j)` return the start index of key/value j in `kv`.
 */
export function attendRef(
  q: ArrayLike<number>,
  qAt: number,
  kv: ArrayLike<number>,
  n: number,
  D: number,
  key: (j: number) => number,
  value: (j: number) => number,
): Float64Array {
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(n);
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    let s = 0;
    const kb = key(j);
    for (let d = 0; d < D; d++) s += q[qAt + d] * kv[kb + d];
    scores[j] = s * scale;
    mx = Math.max(mx, scores[j]);
  }
  let sum = 0;
  for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j] - mx);
  const out = new Float64Array(D);
  for (let j = 0; j < n; j++) {
    const vb = value(j);
    for (let d = 0; d < D; d++) out[d] += (scores[j] / sum) * kv[vb + d];
  }
  return out;
}

/**
 * rope_kv.wgsl + attention.wgsl on the host: rotates q/k of every token of a packed step, writes
 * K/V into the paged cache `kv` (mutated), and returns the attention output [T, H * D].
 */
export function ropeKvAttentionRef(
  meta: Uint32Array,
  qkv: Float32Array,
  kv: Float64Array,
  dims: AttnDims,
  layerBase: number,
  invFreq: ArrayLike<number>,
): Float64Array {
  const { H, G, D } = dims;
  const T = meta[HDR.T];
  const W = (H + 2 * G) * D;
  const q = Float64Array.from(qkv);
  for (let t = 0; t < T; t++) {
    const pos = meta[meta[HDR.POS] + t];
    const slot = meta[meta[HDR.KVSLOT] + t];
    for (let h = 0; h < H + G; h++) ropeRef(q, t * W + h * D, pos, invFreq);
    for (let g = 0; g < G; g++) {
      for (let d = 0; d < D; d++) {
        kv[cacheIndex(dims, layerBase, slot, 0, g) + d] =
          q[t * W + (H + g) * D + d];
        kv[cacheIndex(dims, layerBase, slot, 1, g) + d] =
          q[t * W + (H + G + g) * D + d];
      }
    }
  }
  const out = new Float64Array(T * H * D);
  for (let t = 0; t < T; t++) {
    const s = meta[meta[HDR.SEQ] + t];
    const pages = meta[HDR.PAGES] + meta[meta[HDR.INDPTR] + s];
    const n = meta[meta[HDR.POS] + t] + 1;
    const slotOf = (j: number) =>
      meta[pages + Math.floor(j / PAGE_SIZE)] * PAGE_SIZE + (j % PAGE_SIZE);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const o = attendRef(
        q,
        t * W + h * D,
        kv,
        n,
        D,
        (j) => cacheIndex(dims, layerBase, slotOf(j), 0, g),
        (j) => cacheIndex(dims, layerBase, slotOf(j), 1, g),
      );
      out.set(o, (t * H + h) * D);
    }
  }
  return out;
}

/** The PCG hash of sample.wgsl (u32 in, u32 out). */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word =
    Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>>
    0;
  return ((word >>> 22) ^ word) >>> 0;
}

/**
 * sample.wgsl on the host for one row: greedy when temperature is 0, else temperature + top-p
 * (bisection threshold) with the uniform draw `(pcg(seed ^ pcg(counter)) >> 8) / 2^24`.
 *
 * @example
 * ```ts
 * import { sampleRef } from "./reference_kernels.ts";
 * console.log(sampleRef([0, 3, 3, 1], 0, 1, 0, 0)); // 1
 * ```
 */
export function sampleRef(
  logits: ArrayLike<number>,
  temperature: number,
  topP: number,
  seed: number,
  counter: number,
  bisectSteps = 24,
): number {
  const V = logits.length;
  let mx = -Infinity;
  let arg = 0;
  for (let v = 0; v < V; v++) {
    if (logits[v] > mx) {
      mx = logits[v];
      arg = v;
    }
  }
  if (temperature === 0) return arg;
  const p = Float64Array.from(
    { length: V },
    (_, v) => Math.exp((logits[v] - mx) / temperature),
  );
  const mass = (tau: number) => p.reduce((a, x) => (x >= tau ? a + x : a), 0);
  let tau = 0;
  if (topP < 1) {
    const goal = topP * mass(0);
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < bisectSteps; i++) {
      const mid = 0.5 * (lo + hi);
      if (mass(mid) >= goal) lo = mid;
      else hi = mid;
    }
    tau = lo;
  }
  const u = ((pcg((seed ^ pcg(counter)) >>> 0) >>> 8) / 16777216) * mass(tau);
  let acc = 0;
  let last = arg;
  for (let v = 0; v < V; v++) {
    if (p[v] < tau) continue;
    last = v;
    acc += p[v];
    if (acc > u) return v;
  }
  return last;
}

/**
 * sample.wgsl's log-probability on the host: `logits[tok] - logsumexp(logits)` in f64 (raw
 * logits: temperature 1, no top-p).
 *
 * @example
 * ```ts
 * import { logprobRef } from "./reference_kernels.ts";
 * console.log(logprobRef([0, 0], 1).toFixed(4)); // -0.6931
 * ```
 */
export function logprobRef(logits: ArrayLike<number>, tok: number): number {
  let mx = -Infinity;
  for (let v = 0; v < logits.length; v++) mx = Math.max(mx, logits[v]);
  let z = 0;
  for (let v = 0; v < logits.length; v++) z += Math.exp(logits[v] - mx);
  return logits[tok] - (mx + Math.log(z));
}

/** Reads sample row r of a packed step: [token row, slot, temperature, top_p, seed, counter, log]. */
export function sampleRow(meta: Uint32Array, r: number) {
  const base = meta[HDR.ROWS] + r * ROW_WORDS;
  const f = new Float32Array(meta.buffer, meta.byteOffset + base * 4, 4);
  return {
    tokenRow: meta[base],
    slot: meta[base + 1],
    temperature: f[2],
    topP: f[3],
    seed: meta[base + 4],
    counter: meta[base + 5],
    logIndex: meta[base + 6],
  };
}
