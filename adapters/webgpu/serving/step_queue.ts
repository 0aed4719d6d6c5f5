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
/**
 * GPU ms of the newest steps left unmapped at a wake by default (stepsToMap): more than the
 * host's ~0.4-0.7 ms of scheduling and encoding per batch-1 step on the H200 (docs/perf.md).
 */
export const DEFAULT_MAP_LEAD_MS = 2;

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

/**
 * How many of the `unmapped` steps (the newest submitted, in step order) to ask the readback
 * of now, oldest first. Asking for a step's map returns only once the GPU has run it (Deno
 * 2.9.6 blocks in `mapAsync`), so asking for all of them drains the GPU, which then idles while
 * the host encodes the next step. While more steps can follow (`more`: the queue, not the work,
 * stopped the last fill) the newest steps worth `leadMs` of GPU time (the last step's
 * `stepGpuMs`; one step when unknown) stay unmapped, so the GPU runs them while the host
 * refills the queue, but never more than half of them (so one is mapped whenever any is
 * unmapped: the loop waits on its oldest step); without more work, or with `leadMs` 0, every
 * step is mapped.
 *
 * @example
 * ```ts
 * import { stepsToMap } from "./step_queue.ts";
 * console.log(stepsToMap(12, true, 2, 1.5)); // 10: two 1.5-ms steps cover 2 ms
 * console.log(stepsToMap(12, false, 2, 1.5)); // 12: nothing follows them
 * console.log(stepsToMap(1, true, 2, 1.5)); // 1: the loop waits on it
 * ```
 */
export function stepsToMap(
  unmapped: number,
  more: boolean,
  leadMs: number,
  stepGpuMs: number | null,
): number {
  if (!more || leadMs <= 0) return unmapped;
  const lead = stepGpuMs !== null && stepGpuMs > 0
    ? Math.ceil(leadMs / stepGpuMs)
    : 1;
  // At most half stay unmapped, so a fill after the maps can always refill half the queue.
  const keep = Math.min(lead, Math.floor(unmapped / 2));
  return unmapped - keep;
}
