/**
 * The replay loop: sends requests by the run's load plan and records what comes back.
 *
 * Load modes: open loop (open_loop.ts: each request at its planned time, optionally ramped
 * up) or closed loop (closed_loop.ts: N users, each sending its next request after the
 * previous reply plus think time), one strategy each behind run_context.ts's `LoadStrategy`;
 * a concurrency cap for either; limits by duration and request count; injected
 * cancellations; stops on an error count or an error rate (stop_rules.ts); retries
 * (sending.ts, off by default). Plans are load_plan.ts's. It computes no metrics: it only
 * moves events from the backend to the recorder.
 *
 * One thread's replay ({@linkcode replayThread}) is given a `RunContext` by the run's
 * coordinator: {@linkcode replay} here for a run on one thread, parallel.ts for many.
 *
 * @module
 */
import type { Backend } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import { msToNs, type RunClock } from "./clock.ts";
import { closedLoop } from "./closed_loop.ts";
import {
  type LoadOptions,
  openLoopPlan,
  planRequests,
  planStartNs,
  validateLoad,
  wallTimes,
} from "./load_plan.ts";
import { ARM_LEAD_MS, ArmedSends, armedTable } from "./armed_sends.ts";
import { Metronome, SPIN_LEAD_MS } from "./metronome.ts";
import { openLoop } from "./open_loop.ts";
import type { Pace, RunContext } from "./run_context.ts";
import { LocalCounters, type RunCounters } from "./_run_counters.ts";
import { type ReplaySink, Sender } from "./sending.ts";
import { Slots } from "./_slots.ts";
import { ErrorRateWindow, type StopOutcome, StopRules } from "./stop_rules.ts";

/** Counters of a replay in progress. */
export interface ReplayProgress {
  /** Requests in the plan. */
  planned: number;
  /** Requests sent so far. */
  sent: number;
  /** Requests sent and not yet ended. */
  inFlight: number;
  /** Requests ended (any status). */
  done: number;
  /** Requests ended in error or timeout. */
  errors: number;
  /** Output tokens received. */
  tokens: number;
  /** Run clock time since the start, in ns. */
  elapsedNs: bigint;
}

/** What one thread's replay works on (see {@linkcode replayThread}). */
export interface ThreadOptions {
  /** The backend to send to. */
  backend: Backend;
  /** Requests sorted by `arrivalMs` (closed loop: in the order users take them). */
  requests: readonly TraceRequest[];
  /** Where rows go; `requestSent` (in-flight rows) is optional for sinks that keep no store. */
  recorder: ReplaySink;
  /** The run's clock; plans and events are timed on it. */
  clock: RunClock;
  /** Aborting stops sending and cancels requests in flight. */
  signal?: AbortSignal;
  /** How load is offered and limited (default: open loop at the planned times). */
  load?: LoadOptions;
}

/** Options for {@linkcode replay}. */
export interface ReplayOptions extends ThreadOptions {
  /** Delay before the first planned arrival, in ms. Default 20. */
  leadMs?: number;
  /** Called about every `progressIntervalMs` and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 500. */
  progressIntervalMs?: number;
  /**
   * When the plan starts on the run clock: a start shared with other processes (`run --shard
   * --start-at`). It must still be ahead when sending begins, else the replay throws. Default:
   * `leadMs` from now.
   */
  startNs?: bigint;
  /**
   * Each request's index in the whole plan, when `requests` is one shard's part of it: what
   * injected cancellations are picked by, so every shard cancels what the whole run would.
   * Default: its position in `requests`.
   */
  indices?: ArrayLike<number>;
  /**
   * Run the open loop's metronome thread at real-time scheduling (where permitted): executeRun
   * sets it as pacing_priority.ts decides (`PacingDecision.beatsRealtime`). Default false.
   */
  realtimeBeats?: boolean;
  /**
   * Hand open-loop sends to the metronome's thread where the backend takes them
   * (`Backend.takesSendHandoffs`) and no concurrency cap holds them back (armed_sends.ts).
   * Default true; false sends every request from this thread.
   */
  armSends?: boolean;
}

/** How a replay ended. */
export interface ReplayResult {
  /** `aborted` when a signal or a stop condition ended it early. */
  status: "completed" | "aborted";
  /** Why it was aborted, or which limit ended sending. */
  reason?: string;
  /** The counters at the end. */
  progress: ReplayProgress;
  /** Most requests in flight at once. */
  peakInFlight: number;
}

/**
 * Replays `requests` by the load plan in `opts.load` (default: open loop at the planned
 * times, whatever the backend's state, so a slow backend builds a queue as in production), on
 * this thread. It is the run's coordinator too: it plans the start, paces the open loop from
 * a metronome of one lane and keeps the error-rate window, as parallel.ts does for many.
 *
 * @example
 * ```ts ignore
 * const result = await replay({ backend, requests, recorder, clock, load: { concurrency: 8 } });
 * console.log(result.status, result.progress.done);
 * ```
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { clock } = opts;
  const load = opts.load ?? {};
  validateLoad(load);
  const { heads, list } = planRequests(opts.requests, load);
  const counters = new LocalCounters();
  // The coordinator's stop (a spread run's broadcast): the thread heeds it and the caller's.
  const coordinator = new AbortController();
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, coordinator.signal])
    : coordinator.signal;
  let failure: string | undefined;
  const window = load.errorRate
    ? new ErrorRateWindow(load.errorRate)
    : undefined;
  const report = () =>
    opts.onProgress?.(progressOf(counters, list.length, clock));
  const ticker = setInterval(report, opts.progressIntervalMs ?? 500);
  let metronome: Metronome | undefined;
  let outcome: StopOutcome;
  try {
    // The metronome is ready before the start is planned: its worker's start is not on the
    // run's lead (the first sends were late by it; metronome.ts).
    if (load.mode !== "closed") {
      metronome = await Metronome.boot(1, opts.realtimeBeats ?? false);
    }
    const startNs = planStartNs(clock, opts.startNs, opts.leadMs);
    let pace: Pace;
    if (load.mode === "closed") {
      let cursor = 0;
      pace = {
        mode: "closed",
        users: Array.from({ length: load.users! }, (_, u) => u),
        claim: () => cursor++,
      };
    } else {
      const scheduleNs = openLoopPlan(heads, startNs, load.rampUp);
      const m = metronome!;
      const wallMs = wallTimes(clock, scheduleNs);
      const b = opts.backend;
      const table = b.takesSendHandoffs && !b.timesTokensElsewhere &&
          !load.concurrency && opts.armSends !== false
        ? armedTable()
        : undefined;
      m.play(
        wallMs,
        new Uint8Array(scheduleNs.length),
        table ? ARM_LEAD_MS : b.timesTokensElsewhere ? SPIN_LEAD_MS : 0,
        table && [table],
      );
      // No more beats would come: the run stops (its requests in flight cancelled) and throws.
      m.failed.then((e) => {
        failure ??= e.message;
        coordinator.abort(e.message);
      });
      pace = {
        mode: "open",
        scheduleNs,
        beats: m.ports[0],
        armed: table && new ArmedSends(table, wallMs),
      };
    }
    outcome = await replayThread({ ...opts, load, signal }, {
      startNs,
      counters,
      indices: opts.indices ??
        Array.from({ length: opts.requests.length }, (_, i) => i),
      slots: load.concurrency ? new Slots(load.concurrency) : undefined,
      pace,
      stopped: (reason) => coordinator.abort(reason),
      ended: window
        ? (failed, tNs) => {
          const why = window.add(failed, tNs);
          if (why) coordinator.abort(why);
        }
        : () => {},
    });
  } finally {
    clearInterval(ticker);
    await metronome?.stop();
  }
  if (failure) throw new Error(failure);
  report();
  return {
    ...outcome,
    progress: progressOf(counters, list.length, clock),
    peakInFlight: counters.read().peak,
  };
}

/**
 * One thread's replay of its part of a run (`ctx`): the whole run when {@linkcode replay}
 * is its coordinator, a sender worker's share in a spread run (parallel.ts). Sends by the
 * context's pace through one `Sender` until the heads run out or a stop rule or the signal
 * ends it, then waits for the requests in flight.
 */
export async function replayThread(
  opts: ThreadOptions,
  ctx: RunContext,
): Promise<StopOutcome> {
  const { clock } = opts;
  const load = opts.load ?? {};
  const { heads, sessions } = planRequests(opts.requests, load);
  const stop = new StopRules(load, clock, ctx.stopped, opts.signal);
  const indexOf = new Map<string, number>();
  opts.requests.forEach((r, i) => indexOf.set(r.id, ctx.indices[i]));
  const sender = new Sender({
    backend: opts.backend,
    recorder: opts.recorder,
    clock,
    load,
    counters: ctx.counters,
    slots: ctx.slots,
    sessions,
    indexOf,
    stop,
    ended: ctx.ended,
  });
  if (load.durationMs !== undefined) {
    stop.stopSendingAt(ctx.startNs + msToNs(load.durationMs), "duration limit");
  }
  try {
    const run = {
      clock,
      load,
      heads,
      startNs: ctx.startNs,
      sender,
      sending: stop.sending,
      mayStart: (ns: bigint) => stop.mayStart(ns),
    };
    if (ctx.pace.mode === "open") {
      await openLoop.sendAll({ ...run, pace: ctx.pace });
    } else await closedLoop.sendAll({ ...run, pace: ctx.pace });
    await sender.drain();
  } finally {
    stop.dispose();
  }
  return stop.outcome();
}

/** The run's counters now, as progress of a plan of `planned` requests. */
export function progressOf(
  counters: RunCounters,
  planned: number,
  clock: RunClock,
): ReplayProgress {
  const { peak: _, ...c } = counters.read();
  return { planned, ...c, elapsedNs: clock.nowNs() };
}
