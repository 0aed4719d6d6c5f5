/**
 * The pacer: plans send times and waits for them on the run clock.
 *
 * @module
 */
import type { TraceRequest } from "../workloads/base/request.ts";
import { msToNs, type RunClock } from "./clock.ts";

/**
 * The last stretch before a send time is waited out in `setTimeout(0)` turns rather than one
 * timer. Measured on Deno 2.9.6 (2-core VM): timers fire ~1.1 ms late (p99 ~2.4 ms) and a
 * `setTimeout(0)` turn takes ~2.1 ms, so sends land ~1 ms after their planned time (schedule
 * lag p50 ~1 ms in `deno task bench`). Spinning on MessageChannel turns (~8 us each) cut the
 * lag to ~0.15 ms but starved the same thread's stream reads (token times 4-49 ms late).
 * Open-loop send times are therefore kept by the metronome (metronome.ts), off the reading
 * thread; `sleepUntil` is left to the waits that depend on replies (session turns, think time,
 * retry backoff, closed-loop ramp).
 */
const FINE_WAIT_NS = 2_000_000n;

/**
 * Open-loop send times: each request at `startNs + arrivalMs`, whatever the backend does.
 *
 * @example
 * ```ts
 * import { openLoopSchedule } from "./pacer.ts";
 * const s = openLoopSchedule([{ arrivalMs: 1.5 }], 10n);
 * console.log(s[0]); // 1500010n
 * ```
 */
export function openLoopSchedule(
  requests: readonly Pick<TraceRequest, "arrivalMs">[],
  startNs: bigint,
): bigint[] {
  return requests.map((r) => startNs + msToNs(r.arrivalMs));
}

/**
 * Resolves at `targetNs` on `clock` (or at once when it has passed); `false` if `signal` aborted.
 *
 * A timer covers all but the last ~2 ms, which are waited in zero-delay turns so that other
 * streams keep being read while the send time is hit within a fraction of a millisecond.
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { sleepUntil } from "./pacer.ts";
 * const clock = new RunClock();
 * const target = clock.nowNs() + 3_000_000n;
 * await sleepUntil(clock, target);
 * console.log(clock.nowNs() >= target); // true
 * ```
 */
export async function sleepUntil(
  clock: RunClock,
  targetNs: bigint,
  signal?: AbortSignal,
): Promise<boolean> {
  const coarse = targetNs - clock.nowNs() - FINE_WAIT_NS;
  if (coarse > 0n) {
    const ok = await new Promise<boolean>((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(id);
        resolve(false);
      };
      const id = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, Number(coarse / 1_000_000n));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    if (!ok) return false;
  }
  while (clock.nowNs() < targetNs) {
    if (signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, 0));
  }
  return !signal?.aborted;
}

/**
 * {@linkcode sleepUntil} for a send planned at `targetNs`: true when it may go then. When
 * `sending` aborts first, `mayStart` decides: a duration limit is on the plan, so a send planned
 * before the end still goes (at its time) though the limit's timer fired during the wait.
 */
export async function sleepUntilPlanned(
  clock: RunClock,
  targetNs: bigint,
  sending: AbortSignal,
  mayStart: (scheduledNs: bigint) => boolean,
): Promise<boolean> {
  if (await sleepUntil(clock, targetNs, sending)) return true;
  return mayStart(targetNs) && await sleepUntil(clock, targetNs);
}
