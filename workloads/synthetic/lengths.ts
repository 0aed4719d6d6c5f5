/**
 * Seeded token-length distributions for synthetic workloads.
 *
 * @module
 */
import type { Rng } from "../base/random.ts";

/** A distribution of token counts (integers >= 0). */
export type LengthSpec =
  | { kind: "fixed"; value: number }
  | { kind: "uniform"; min: number; max: number }
  /** Log-normal with the given mean and log-space standard deviation `sigma`. */
  | { kind: "lognormal"; mean: number; sigma: number }
  /** Zipf over `min..max`: P(min + k - 1) proportional to k^-s. */
  | { kind: "zipf"; min: number; max: number; s: number }
  /** Uniform draws from observed lengths (for example a trace's input lengths). */
  | { kind: "empirical"; values: number[] };

/**
 * A sampler for a length distribution.
 *
 * @example
 * ```ts
 * import { Rng } from "../base/random.ts";
 * import { lengthSampler } from "./lengths.ts";
 * const draw = lengthSampler({ kind: "uniform", min: 5, max: 5 });
 * console.log(draw(new Rng(0))); // 5
 * ```
 */
export function lengthSampler(spec: LengthSpec): (rng: Rng) => number {
  const bad = (what: string, v: unknown) => {
    throw new RangeError(
      `Length ${spec.kind}: ${what}, got ${JSON.stringify(v)}`,
    );
  };
  const isCount = (v: number) => Number.isInteger(v) && v >= 0;
  switch (spec.kind) {
    case "fixed":
      if (!isCount(spec.value)) {
        bad("value must be an integer >= 0", spec.value);
      }
      return () => spec.value;
    case "uniform":
      if (!isCount(spec.min) || !isCount(spec.max) || spec.max < spec.min) {
        bad("expected integers 0 <= min <= max", [spec.min, spec.max]);
      }
      return (rng) => rng.int(spec.min, spec.max);
    case "lognormal": {
      if (!(spec.mean > 0) || !(spec.sigma >= 0)) {
        bad("expected mean > 0 and sigma >= 0", [spec.mean, spec.sigma]);
      }
      const mu = Math.log(spec.mean) - (spec.sigma * spec.sigma) / 2;
      return (rng) =>
        Math.max(1, Math.round(Math.exp(mu + spec.sigma * rng.normal())));
    }
    case "zipf": {
      if (
        !isCount(spec.min) || !isCount(spec.max) || spec.max < spec.min ||
        !(spec.s > 0)
      ) {
        bad("expected integers 0 <= min <= max and s > 0", [
          spec.min,
          spec.max,
          spec.s,
        ]);
      }
      const m = spec.max - spec.min + 1;
      const cdf = new Float64Array(m);
      let acc = 0;
      for (let k = 1; k <= m; k++) cdf[k - 1] = acc += Math.pow(k, -spec.s);
      return (rng) => {
        const u = rng.next() * acc;
        let lo = 0, hi = m - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid] < u) lo = mid + 1;
          else hi = mid;
        }
        return spec.min + lo;
      };
    }
    case "empirical":
      if (spec.values.length === 0) bad("needs at least one value", []);
      return (rng) => spec.values[Math.floor(rng.next() * spec.values.length)];
  }
}
