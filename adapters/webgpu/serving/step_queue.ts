/**
 * How deep the engine loop's queue of submitted steps is: a floor of steps always in flight,
 * and more while the last step's GPU time says they still fit a bound in GPU milliseconds.
 *
 * Why: a step's sampled ids come back by `mapAsync`, which takes ~11 ms in Deno whatever the
 * step costs (an empty submission's readback: 11.0-11.9 ms on llvmpipe, docs/perf.md). A fixed
 * queue of four 2-ms steps (batch-1 decode on an H200) runs dry ~8 ms into each ~14.5-ms cycle
 * of readbacks; steps long against the readback (a big batch's 30-80 ms) keep the floor of four.
 *
 * @module
 */

/** Steps queued at most by default when they are short (the token log must hold 2 more). */
export const DEFAULT_MAX_STEPS_IN_FLIGHT = 32;
/** GPU ms of steps queued past the floor by default: about two readback latencies (~11 ms each). */
export const DEFAULT_QUEUE_AHEAD_MS = 25;

/** The queue bounds {@link mayQueue} decides by. */
export interface QueueBounds {
  /** Steps allowed in flight whatever their time. */
  stepsInFlight: number;
  /** Steps in flight at most. */
  maxStepsInFlight: number;
  /** GPU ms the queue may hold once past `stepsInFlight`. */
  queueAheadMs: number;
}

/**
 * Whether one more step may be submitted with `inFlight` steps unread: always below
 * `stepsInFlight`; past it only below `maxStepsInFlight` and while `inFlight + 1` steps of
 * `stepGpuMs` (the last step's GPU time; null when unknown, e.g. without timestamp queries)
 * fit `queueAheadMs`.
 *
 * @example
 * ```ts
 * import { mayQueue } from "./step_queue.ts";
 * const b = { stepsInFlight: 4, maxStepsInFlight: 32, queueAheadMs: 25 };
 * console.log(mayQueue(3, b, null), mayQueue(4, b, null)); // true false
 * console.log(mayQueue(11, b, 2), mayQueue(12, b, 2)); // true false
 * ```
 */
export function mayQueue(
  inFlight: number,
  b: QueueBounds,
  stepGpuMs: number | null,
): boolean {
  if (inFlight < b.stepsInFlight) return true;
  if (inFlight >= b.maxStepsInFlight || stepGpuMs === null) return false;
  return (inFlight + 1) * stepGpuMs <= b.queueAheadMs;
}
