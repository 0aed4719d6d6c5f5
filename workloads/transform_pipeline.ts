/**
 * An ordered list of transforms applied to a request stream, seeded, and recorded with the run
 * (each step with its request counts), so a replay can be reproduced exactly.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";
import {
  compressIdleGaps,
  firstN,
  rebase,
  scaleTime,
  targetRate,
  timeWindow,
} from "./transform.ts";
import {
  capLengths,
  filterLengths,
  type LengthBounds,
  sampleRandom,
} from "./select.ts";
import type { ArrivalSpec } from "./synthetic/arrivals.ts";
import { assignArrivals } from "./synthetic/generate.ts";

/** One transform step. Times in ms, rates in requests per second. */
export type TransformSpec =
  | { kind: "window"; startMs: number; durationMs: number }
  | { kind: "speedup"; factor: number }
  | { kind: "rate"; rps: number }
  | { kind: "first"; n: number }
  | { kind: "sample"; count?: number; fraction?: number; bySession?: boolean }
  | ({ kind: "lengths" } & LengthBounds)
  | { kind: "cap"; maxInput?: number; maxOutput?: number; blockSize?: number }
  | { kind: "rebase" }
  | { kind: "compress-idle"; maxGapMs: number }
  | { kind: "arrivals"; process: ArrivalSpec };

/** A step as it was applied: the spec, its seed when random, and the request counts. */
export interface AppliedTransform {
  /** The step as specified. */
  spec: TransformSpec;
  /** Its seed, for random steps. */
  seed?: number;
  /** Requests before the step. */
  requestsBefore: number;
  /** Requests after it. */
  requestsAfter: number;
}

/** The transformed requests and the record of what was done. */
export interface TransformResult {
  /** The transformed requests. */
  requests: TraceRequest[];
  /** Every step, in order. */
  applied: AppliedTransform[];
  /** The seed the pipeline derived step seeds from. */
  seed: number;
}

/**
 * Applies `specs` in order. Random steps (`sample`, `arrivals`) draw from `seed` and their
 * position, so the same list and seed give the same requests.
 *
 * @example
 * ```ts
 * import { applyTransforms } from "./transform_pipeline.ts";
 * const reqs = [0, 1000, 2000, 3000].map((t, i) => ({ id: String(i), arrivalMs: t, inputTokens: 1, outputTokens: 1 }));
 * const r = applyTransforms(reqs, [{ kind: "first", n: 3 }, { kind: "speedup", factor: 2 }], 0);
 * console.log(r.requests.map((q) => q.arrivalMs), r.applied[0].requestsAfter); // [ 0, 500, 1000 ] 3
 * ```
 */
export function applyTransforms(
  requests: readonly TraceRequest[],
  specs: readonly TransformSpec[],
  seed: number,
): TransformResult {
  let cur = requests.slice();
  const applied: AppliedTransform[] = [];
  specs.forEach((spec, i) => {
    const before = cur.length;
    const stepSeed = (seed * 1_000_003 + i * 7919) >>> 0;
    let random = false;
    switch (spec.kind) {
      case "window":
        cur = timeWindow(cur, spec.startMs, spec.durationMs);
        break;
      case "speedup":
        cur = scaleTime(cur, spec.factor);
        break;
      case "rate":
        cur = targetRate(cur, spec.rps);
        break;
      case "first":
        cur = firstN(cur, spec.n);
        break;
      case "sample":
        cur = sampleRandom(cur, { ...spec, seed: stepSeed });
        random = true;
        break;
      case "lengths":
        cur = filterLengths(cur, spec);
        break;
      case "cap":
        cur = capLengths(cur, spec);
        break;
      case "rebase":
        cur = rebase(cur);
        break;
      case "compress-idle":
        cur = compressIdleGaps(cur, spec.maxGapMs);
        break;
      case "arrivals":
        cur = assignArrivals(cur, spec.process, stepSeed);
        random = true;
        break;
    }
    applied.push({
      spec,
      ...(random ? { seed: stepSeed } : {}),
      requestsBefore: before,
      requestsAfter: cur.length,
    });
  });
  return { requests: cur, applied, seed };
}
