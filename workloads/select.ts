/**
 * Selection transforms: random sampling, length filters and length caps. Pure and seeded.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";
import { Rng } from "./base/random.ts";

/** Options of {@linkcode sampleRandom}: exactly one of `count` and `fraction`. */
export interface SampleOptions {
  /** Keep this many requests (or sessions). */
  count?: number;
  /** Keep this fraction of the requests (or sessions): exactly round(fraction * n) of them. */
  fraction?: number;
  /** Sample whole sessions (all turns of a session stay together). Default false. */
  bySession?: boolean;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * Keeps a uniformly random subset of the requests (or of the sessions), in their original order.
 *
 * @example
 * ```ts
 * import { sampleRandom } from "./select.ts";
 * const reqs = Array.from({ length: 10 }, (_, i) => ({ id: String(i), arrivalMs: i, inputTokens: 1, outputTokens: 1 }));
 * console.log(sampleRandom(reqs, { count: 3, seed: 1 }).length); // 3
 * ```
 */
export function sampleRandom(
  requests: readonly TraceRequest[],
  opts: SampleOptions,
): TraceRequest[] {
  const keyOf = (r: TraceRequest, i: number) =>
    opts.bySession && r.sessionId !== undefined ? `s:${r.sessionId}` : `r:${i}`;
  const keys = [...new Set(requests.map(keyOf))];
  let k: number;
  if (opts.count !== undefined && opts.fraction === undefined) {
    if (!Number.isInteger(opts.count) || opts.count < 0) {
      throw new RangeError(
        `Sample count must be an integer >= 0, got ${opts.count}`,
      );
    }
    k = Math.min(opts.count, keys.length);
  } else if (opts.fraction !== undefined && opts.count === undefined) {
    if (!(opts.fraction >= 0 && opts.fraction <= 1)) {
      throw new RangeError(
        `Sample fraction must be in [0, 1], got ${opts.fraction}`,
      );
    }
    k = Math.round(opts.fraction * keys.length);
  } else {
    throw new RangeError("Sample needs exactly one of count and fraction");
  }
  // Partial Fisher-Yates: the first k of a seeded shuffle.
  const rng = new Rng(opts.seed ?? 0);
  const order = keys.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (order.length - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const keep = new Set(order.slice(0, k));
  return requests.filter((r, i) => keep.has(keyOf(r, i)));
}

/** Inclusive bounds of {@linkcode filterLengths}; absent bounds do not filter. */
export interface LengthBounds {
  /** Smallest input length kept, tokens. */
  minInput?: number;
  /** Largest input length kept, tokens. */
  maxInput?: number;
  /** Smallest output length kept, tokens. */
  minOutput?: number;
  /** Largest output length kept, tokens. */
  maxOutput?: number;
}

/**
 * Keeps requests whose lengths lie within the bounds (inclusive).
 *
 * @example
 * ```ts
 * import { filterLengths } from "./select.ts";
 * const reqs = [10, 100, 1000].map((n, i) => ({ id: String(i), arrivalMs: i, inputTokens: n, outputTokens: 1 }));
 * console.log(filterLengths(reqs, { maxInput: 100 }).length); // 2
 * ```
 */
export function filterLengths(
  requests: readonly TraceRequest[],
  b: LengthBounds,
): TraceRequest[] {
  return requests.filter((r) =>
    r.inputTokens >= (b.minInput ?? 0) &&
    r.inputTokens <= (b.maxInput ?? Infinity) &&
    r.outputTokens >= (b.minOutput ?? 0) &&
    r.outputTokens <= (b.maxOutput ?? Infinity)
  );
}

/**
 * Clips lengths to the caps (a context-window limit); block ids past the cap are dropped.
 *
 * @example
 * ```ts
 * import { capLengths } from "./select.ts";
 * const [r] = capLengths([{ id: "0", arrivalMs: 0, inputTokens: 9000, outputTokens: 3000 }], { maxInput: 4096, maxOutput: 1024 });
 * console.log(r.inputTokens, r.outputTokens); // 4096 1024
 * ```
 */
export function capLengths(
  requests: readonly TraceRequest[],
  caps: { maxInput?: number; maxOutput?: number; blockSize?: number },
): TraceRequest[] {
  const bs = caps.blockSize ?? 512;
  return requests.map((r) => {
    const inputTokens = Math.min(r.inputTokens, caps.maxInput ?? Infinity);
    const outputTokens = Math.min(r.outputTokens, caps.maxOutput ?? Infinity);
    if (inputTokens === r.inputTokens && outputTokens === r.outputTokens) {
      return r;
    }
    const out: TraceRequest = { ...r, inputTokens, outputTokens };
    if (r.prefixBlocks && inputTokens < r.inputTokens) {
      out.prefixBlocks = r.prefixBlocks.slice(0, Math.ceil(inputTokens / bs));
    }
    return out;
  });
}
