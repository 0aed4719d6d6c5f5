/**
 * The run clock: one monotonic nanosecond time line per run, anchored to the wall clock once.
 *
 * @module
 */

/**
 * Milliseconds as whole nanoseconds (rounded): how every duration in ms (a lead, a think
 * time, a backoff, a window) becomes a run-clock span.
 *
 * @example
 * ```ts
 * import { msToNs } from "./clock.ts";
 * console.log(msToNs(1.5), msToNs(0.0000004)); // 1500000n 0n
 * ```
 */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

/**
 * A monotonic clock in nanoseconds since the run started.
 *
 * `performance.now()` is monotonic with sub-microsecond resolution in Deno; times are kept as
 * `bigint` nanoseconds so that sums over millions of events stay exact.
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * const clock = new RunClock();
 * const t = clock.nowNs();
 * console.log(t >= 0n, clock.toUnixNs(t) > 0n);
 * ```
 */
export class RunClock {
  /** `performance.now()` at the run start, in milliseconds. */
  readonly originMs: number;
  /** Wall-clock time of the origin, in nanoseconds since the Unix epoch. */
  readonly originUnixNs: bigint;

  /** A clock whose t = 0 is `originMs` (`performance.now()` ms; default: now), anchored to the wall clock once. */
  constructor(originMs: number = performance.now()) {
    this.originMs = originMs;
    const wallMs = performance.timeOrigin + originMs;
    this.originUnixNs = msToNs(wallMs);
  }

  /** Nanoseconds since the run origin. */
  nowNs(): bigint {
    return msToNs(performance.now() - this.originMs);
  }

  /** Converts a `performance.now()` reading (ms) to run-clock nanoseconds. */
  fromPerfMs(perfMs: number): bigint {
    return msToNs(perfMs - this.originMs);
  }

  /** Converts run-clock nanoseconds to milliseconds on the `performance.now()` scale. */
  toPerfMs(tNs: bigint): number {
    return this.originMs + Number(tNs) / 1e6;
  }

  /** Converts run-clock nanoseconds to nanoseconds since the Unix epoch. */
  toUnixNs(tNs: bigint): bigint {
    return this.originUnixNs + tNs;
  }
}
