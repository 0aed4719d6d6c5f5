/**
 * Load plans, as pure functions: when each request of an open-loop run is due (with ramp-up),
 * and which requests get an injected cancellation. The runner carries them out.
 *
 * @module
 */

/** How the offered load rises at the start of a run. */
export interface RampUp {
  /** `linear`: the rate rises from 0 to full over `durationMs`; `stepped`: in `steps` equal steps. */
  kind: "linear" | "stepped";
  /** Length of the ramp on the run clock, in ms. */
  durationMs: number;
  /** Number of steps of a stepped ramp (rates 1/k, 2/k, ..., 1). Default 4. */
  steps?: number;
}

/**
 * Maps trace arrival offsets (ms, at full rate) to send offsets with the rate ramped up.
 *
 * The ramp multiplies the instantaneous rate by f(t) (linear: t/D; stepped: i/k in step i),
 * so request i is due at the real time T with integral of f over [0, T] equal to its trace
 * offset; after the ramp, offsets are shifted by the time the ramp lost. Order is preserved.
 *
 * @example
 * ```ts
 * import { rampArrivals } from "./load_plan.ts";
 * // Linear over 1000 ms: the trace's first 500 ms of arrivals are spread over the ramp.
 * console.log(rampArrivals([0, 125, 500, 600], { kind: "linear", durationMs: 1000 }));
 * // [ 0, 500, 1000, 1100 ]
 * ```
 */
export function rampArrivals(
  arrivalsMs: readonly number[],
  ramp: RampUp,
): number[] {
  const D = ramp.durationMs;
  if (!(D > 0)) {
    throw new RangeError(`Ramp-up duration must be > 0 ms, got ${D}`);
  }
  if (ramp.kind === "linear") {
    // Work done by the end of the ramp: integral of t/D over [0, D] = D/2.
    return arrivalsMs.map((a) => a <= D / 2 ? Math.sqrt(2 * D * a) : a + D / 2);
  }
  const k = ramp.steps ?? 4;
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`Ramp-up steps must be an integer >= 1, got ${k}`);
  }
  const w = D / k; // length of one step
  // Work done by the end of step i (1-based): w * (1 + 2 + ... + i) / k.
  const workAt = (i: number) => (w * i * (i + 1)) / (2 * k);
  const total = workAt(k);
  return arrivalsMs.map((a) => {
    if (a >= total) return a + (D - total);
    let i = 0;
    while (workAt(i + 1) <= a) i++;
    // Inside step i (0-based) the rate factor is (i + 1) / k.
    return i * w + (a - workAt(i)) * k / (i + 1);
  });
}

/** Injected cancellations: a seeded `rate` of requests is cancelled `delayMs` after sending. */
export interface CancelInjection {
  /** Fraction of requests to cancel, in [0, 1]. */
  rate: number;
  /** Time after `sent` at which they are cancelled, in ms (0: before any of the reply is read). */
  delayMs: number;
  /** Seed of the choice. Default 0. */
  seed?: number;
}

/**
 * Whether request number `index` (0-based, in send order) is one to cancel: a seeded hash of
 * the index below `rate`, so the same run options always cancel the same requests.
 *
 * @example
 * ```ts
 * import { pickedForCancel } from "./load_plan.ts";
 * const picked = Array.from({ length: 10000 }, (_, i) => pickedForCancel(i, { rate: 0.1, delayMs: 5 }));
 * console.log(Math.abs(picked.filter(Boolean).length - 1000) < 100); // true
 * ```
 */
export function pickedForCancel(index: number, c: CancelInjection): boolean {
  if (c.rate <= 0) return false;
  if (c.rate >= 1) return true;
  let h = (index + 1) * 0x9e3779b1 ^ ((c.seed ?? 0) * 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296 < c.rate;
}
