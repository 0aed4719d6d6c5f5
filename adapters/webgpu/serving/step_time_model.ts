/**
 * The engine's measured step-time model, `t(T) = base + perToken * T` for a step of T query
 * tokens, and the token budget it implies for a time-between-tokens SLO: under `sarathi` every
 * decode rides in every step, so a step must stay within the TBT SLO.
 *
 * @module
 */
import type { ForwardEngine } from "../step/forward.ts";
import { PAGE_SIZE } from "../batch/kv_blocks.ts";
import type { StepSequence } from "../batch/step_batch.ts";
import { StepTimer } from "./step_timer.ts";

/** A linear model of step time in milliseconds. */
export interface StepTimeModel {
  /** Fixed cost of a step, ms (the fit's intercept). */
  baseMs: number;
  /** Cost per query token, ms (the fit's slope). */
  perTokenMs: number;
  /** The measured points (tokens, median ms). */
  points: [number, number][];
  /** `gpu` (timestamp queries) or `wall` (submit to completion). */
  timing: "gpu" | "wall";
}

/**
 * Times prefill steps of a few sizes up to the engine's maxTokens (median of `runs` each) and
 * fits the model by least squares. Uses KV pages from 0 up: call it before serving.
 */
export async function measureStepTimeModel(
  engine: ForwardEngine,
  runs = 5,
): Promise<StepTimeModel> {
  const max = engine.limits.maxTokens;
  const sizes = [
    ...new Set([1, 16, 64, 128, 256, 512, max].filter((n) => n <= max)),
  ];
  const timer = new StepTimer(engine);
  const points: [number, number][] = [];
  for (const T of sizes) {
    const pages = Array.from(
      { length: Math.ceil(T / PAGE_SIZE) },
      (_, i) => i % engine.limits.numPages,
    );
    const seq: StepSequence = {
      slot: 0,
      start: 0,
      tokens: Array.from({ length: T }, (_, i) => i % engine.config.vocab),
      pages,
      sample: { temperature: 0, topP: 1, seed: 0 },
    };
    const packed = engine.prepareStep({ seqs: [seq], logBase: 0 });
    const samples: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const ms = await timer.timeMs(packed);
      if (r > 0) samples.push(ms); // the first run warms up
    }
    samples.sort((a, b) => a - b);
    points.push([T, samples[Math.floor(samples.length / 2)]]);
  }
  timer.destroy();
  return { ...fitLine(points), points, timing: timer.timing };
}

/**
 * Least-squares line through `(tokens, ms)` points (slope and intercept clamped at >= 0).
 *
 * @example
 * ```ts
 * import { fitLine } from "./step_time_model.ts";
 * console.log(fitLine([[0, 1], [10, 2], [20, 3]])); // { baseMs: 1, perTokenMs: 0.1 }
 * ```
 */
export function fitLine(
  points: readonly [number, number][],
): { baseMs: number; perTokenMs: number } {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const perTokenMs = Math.max(0, sxx > 0 ? sxy / sxx : 0);
  const baseMs = Math.max(0, my - perTokenMs * mx);
  return {
    baseMs: Math.round(baseMs * 1e6) / 1e6,
    perTokenMs: Math.round(perTokenMs * 1e9) / 1e9,
  };
}

/**
 * The largest token budget whose predicted step time stays within `tbtSloMs`, in
 * [minTokens, maxTokens] (a multiple of 16 unless clamped).
 *
 * @example
 * ```ts
 * import { budgetForTbt } from "./step_time_model.ts";
 * const m = { baseMs: 5, perTokenMs: 0.05, points: [], timing: "gpu" as const };
 * console.log(budgetForTbt(m, 30, 16, 2048)); // 496
 * ```
 */
export function budgetForTbt(
  model: StepTimeModel,
  tbtSloMs: number,
  minTokens: number,
  maxTokens: number,
): number {
  const raw = model.perTokenMs > 0
    ? (tbtSloMs - model.baseMs) / model.perTokenMs
    : maxTokens;
  const rounded = Math.floor(raw / 16) * 16;
  return Math.max(minTokens, Math.min(maxTokens, rounded));
}
