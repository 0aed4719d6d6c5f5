/**
 * Load plans: how load is offered (`LoadOptions` and their validation), when each request of
 * an open-loop run is due (with ramp-up) and on which wall times the metronome beats, when
 * each closed-loop user starts, and which requests get an injected cancellation. Pure
 * functions of the options and the trace; the replay (runner.ts) carries them out.
 *
 * @module
 */
import type { TraceRequest } from "../workloads/base/request.ts";
import { msToNs, type RunClock } from "./clock.ts";
import { wallNowMs } from "./metronome.ts";
import { openLoopSchedule } from "./pacer.ts";
import { planSessions, type SessionPlan } from "./sessions.ts";

/** How load is offered; every field is optional (the default is a plain open loop). */
export interface LoadOptions {
  /** `open` (default): requests at their planned times; `closed`: `users` send back to back. */
  mode?: "open" | "closed";
  /** Closed loop: number of users (concurrent requests). */
  users?: number;
  /** Closed loop: pause of a user between a reply and its next request, in ms. Default 0. */
  thinkMs?: number;
  /** At most this many requests in flight; the rest wait (their wait is recorded). */
  concurrency?: number;
  /** Open loop: rate ramp; closed loop: users start spread over the ramp. */
  rampUp?: RampUp;
  /** Stop sending this long after the start, in ms; requests in flight finish. */
  durationMs?: number;
  /** Stop sending after this many requests (first tries). */
  maxRequests?: number;
  /** Cancel a seeded fraction of requests on purpose (recorded as `cancelled`). */
  cancel?: CancelInjection;
  /** Stop the run (cancelling requests in flight) once this many requests failed. */
  stopAfterErrors?: number;
  /** Stop the run when the failed fraction of requests ended in the last `windowMs` passes `maxRate`. */
  errorRate?: ErrorRateLimit;
  /** Retry failed requests (errors and timeouts, not HTTP 4xx or cancellations). Off by default. */
  retries?: { max: number; backoffMs: number };
  /**
   * Replay multi-turn sessions: a turn is sent only after the previous turn's reply plus the
   * trace's delay, carrying the conversation (see sessions.ts); a failed turn ends its session.
   */
  sessions?: boolean;
}

/** The error-rate stop of {@linkcode LoadOptions.errorRate}. */
export interface ErrorRateLimit {
  /** Length of the window of ended requests, in ms. */
  windowMs: number;
  /** The run stops when the failed fraction in the window passes this, in [0, 1]. */
  maxRate: number;
  /** Requests the window must hold before the rate is checked. Default 20. */
  minRequests?: number;
}

/** Checks load options; throws a RangeError naming the option. */
export function validateLoad(l: LoadOptions): void {
  const int = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new RangeError(
        `Load option ${name} must be an integer >= ${min}, got ${v}`,
      );
    }
  };
  if (l.mode === "closed" && l.users === undefined) {
    throw new RangeError("Load option users is required for a closed loop");
  }
  int("users", l.users, 1);
  int("concurrency", l.concurrency, 1);
  int("maxRequests", l.maxRequests, 0);
  int("stopAfterErrors", l.stopAfterErrors, 1);
  int("retries.max", l.retries?.max, 0);
  if (l.cancel && !(l.cancel.rate >= 0 && l.cancel.rate <= 1)) {
    throw new RangeError(
      `Load option cancel.rate must be in [0, 1], got ${l.cancel.rate}`,
    );
  }
  if (l.errorRate && !(l.errorRate.maxRate >= 0 && l.errorRate.maxRate <= 1)) {
    throw new RangeError(
      `Load option errorRate.maxRate must be in [0, 1], got ${l.errorRate.maxRate}`,
    );
  }
}

/** The requests a run sends and the first turns among them (what a load mode paces). */
export interface PlannedRequests {
  /** The first `maxRequests` requests of the trace. */
  list: readonly TraceRequest[];
  /** What the load mode sends: every request, or each session's first turn. */
  heads: readonly TraceRequest[];
  /** How requests chain into sessions, when sessions are replayed. */
  sessions: SessionPlan | undefined;
}

/** The requests of `requests` that `load` sends, and the heads its load mode paces. */
export function planRequests(
  requests: readonly TraceRequest[],
  load: LoadOptions,
): PlannedRequests {
  const list = requests.slice(
    0,
    Math.min(requests.length, load.maxRequests ?? Infinity),
  );
  const sessions = load.sessions ? planSessions(list) : undefined;
  return { list, heads: sessions ? sessions.heads : list, sessions };
}

/**
 * The open-loop send time of each request on the run clock: `startNs` plus its arrival
 * (ramped when asked), never earlier than the previous one (requests go in list order).
 */
export function openLoopPlan(
  heads: readonly Pick<TraceRequest, "arrivalMs">[],
  startNs: bigint,
  rampUp?: RampUp,
): BigInt64Array {
  let arrivals = heads.map((r) => r.arrivalMs);
  if (rampUp) arrivals = rampArrivals(arrivals, rampUp);
  const s = BigInt64Array.from(
    openLoopSchedule(arrivals.map((a) => ({ arrivalMs: a })), startNs),
  );
  for (let i = 1; i < s.length; i++) if (s[i] < s[i - 1]) s[i] = s[i - 1];
  return s;
}

/** Run-clock times as metronome times (the wall scale every thread shares). */
export function wallTimes(
  clock: RunClock,
  ns: ArrayLike<bigint>,
): Float64Array {
  const offset = wallNowMs() - clock.toPerfMs(clock.nowNs());
  return Float64Array.from(
    { length: ns.length },
    (_, i) => clock.toPerfMs(ns[i]) + offset,
  );
}

/**
 * Closed-loop ramp: how long after the start user `u` of `users` begins, at u/U of a linear
 * ramp or at its step of a stepped one.
 */
export function userStartOffsetNs(
  u: number,
  users: number,
  ramp?: RampUp,
): bigint {
  if (!ramp) return 0n;
  const frac = ramp.kind === "linear"
    ? u / users
    : Math.floor((u * (ramp.steps ?? 4)) / users) / (ramp.steps ?? 4);
  return msToNs(frac * ramp.durationMs);
}

/**
 * Throws unless `startNs` is still ahead on `clock`: a shared start that has passed cannot be
 * kept (the plan would begin with a burst of late sends), so the run fails and says so.
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { assertStartAhead } from "./load_plan.ts";
 * const clock = new RunClock();
 * assertStartAhead(clock, clock.nowNs() + 1_000_000_000n); // a second ahead: fine
 * ```
 */
export function assertStartAhead(clock: RunClock, startNs: bigint): void {
  const behindNs = clock.nowNs() - startNs;
  if (behindNs >= 0n) {
    throw new Error(
      `The shared start time (--start-at) passed ${
        (Number(behindNs) / 1e6).toFixed(1)
      } ms before this run was ready to send (it had loaded the workload, started its threads and ` +
        "opened the database): pass a --start-at further ahead, the same to every shard",
    );
  }
}

/**
 * When the plan starts on the run clock: the shared start of `run --shard --start-at` (which
 * must still be ahead), else `leadMs` (default 20) from now.
 */
export function planStartNs(
  clock: RunClock,
  startNs: bigint | undefined,
  leadMs = 20,
): bigint {
  if (startNs === undefined) return clock.nowNs() + msToNs(leadMs);
  assertStartAhead(clock, startNs);
  return startNs;
}

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
