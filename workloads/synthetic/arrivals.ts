/**
 * Seeded arrival processes for synthetic workloads and for traces without times.
 *
 * @module
 */
import { Rng } from "../base/random.ts";

/** An arrival process; rates in requests per second. */
export type ArrivalSpec =
  | { kind: "poisson"; rate: number }
  /** Gamma-distributed gaps with coefficient of variation `cv` (1 = Poisson, > 1 burstier). */
  | { kind: "gamma"; rate: number; cv: number }
  | { kind: "constant"; rate: number }
  /** Poisson at `rate` for `onS` seconds, then silence for `offS` seconds, repeated. */
  | { kind: "onoff"; rate: number; onS: number; offS: number };

/**
 * Returns `n` arrival times in ms, the first at 0, non-decreasing.
 *
 * @example
 * ```ts
 * import { arrivalTimes } from "./arrivals.ts";
 * console.log(Array.from(arrivalTimes({ kind: "constant", rate: 4 }, 3, 0))); // [ 0, 250, 500 ]
 * ```
 */
export function arrivalTimes(
  spec: ArrivalSpec,
  n: number,
  seed: number,
): Float64Array {
  checkArrivalSpec(spec);
  const rng = new Rng(seed);
  const mean = 1000 / spec.rate;
  const out = new Float64Array(n);
  let t = 0;
  for (let i = 1; i < n; i++) {
    switch (spec.kind) {
      case "poisson":
        t += rng.exponential(mean);
        break;
      case "constant":
        t += mean;
        break;
      case "gamma": {
        const k = 1 / (spec.cv * spec.cv);
        t += rng.gamma(k, mean / k);
        break;
      }
      case "onoff": {
        const on = spec.onS * 1000;
        const period = on + spec.offS * 1000;
        // Poisson time measured in "on" time only, mapped back onto the wall clock.
        const onTime = toOnTime(t, on, period) + rng.exponential(mean);
        t = Math.floor(onTime / on) * period + (onTime % on);
        break;
      }
    }
    out[i] = t;
  }
  return out;
}

function toOnTime(t: number, on: number, period: number): number {
  return Math.floor(t / period) * on + Math.min(t % period, on);
}

/** Throws a RangeError naming the bad parameter of an arrival spec. */
export function checkArrivalSpec(spec: ArrivalSpec): void {
  const pos = (name: string, v: number) => {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(
        `Arrival ${spec.kind}: ${name} must be a number > 0, got ${v}`,
      );
    }
  };
  pos("rate", spec.rate);
  if (spec.kind === "gamma") pos("cv", spec.cv);
  if (spec.kind === "onoff") {
    pos("on", spec.onS);
    if (!(spec.offS >= 0)) {
      throw new RangeError(
        `Arrival onoff: off must be a number >= 0, got ${spec.offS}`,
      );
    }
  }
}
