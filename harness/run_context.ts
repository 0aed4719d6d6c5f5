/**
 * The run context: what one sending thread is given of the run it belongs to, built the same
 * way whether the run has one thread (runner.ts is then its own coordinator) or many
 * (parallel.ts coordinates, each sender worker builds its context from its `init` message):
 * when the plan starts, the run's counters and concurrency cap, each request's index in the
 * whole run, this thread's pace, and the two calls back to the coordinator.
 *
 * @module
 */
import type { ArmedSends } from "./armed_sends.ts";
import type { LoadOptions } from "./load_plan.ts";
import type { RunCounters } from "./_run_counters.ts";
import type { SlotsLike } from "./_shared_slots.ts";
import type { Sender } from "./sending.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import type { RunClock } from "./clock.ts";

/** Open loop: this thread's heads are sent on the beats of the run's metronome. */
export interface OpenPace {
  /** The load mode. */
  mode: "open";
  /** The send time of each of this thread's heads, ramp applied (the run-wide plan's part). */
  scheduleNs: BigInt64Array;
  /** This thread's lane of the run's metronome: one count per head due. */
  beats: MessagePort;
  /**
   * The lane's armed sends (armed_sends.ts), when the metronome sends them: beats then come
   * early and each head is launched with its hand-off at once, without a spin.
   */
  armed?: ArmedSends;
}

/** Closed loop: this thread plays some of the run's users, who take heads from one cursor. */
export interface ClosedPace {
  /** The load mode. */
  mode: "closed";
  /** The user numbers this thread plays (of `LoadOptions.users`). */
  users: readonly number[];
  /** The next head index to send, across the run's threads. */
  claim(): number;
}

/** How a thread paces its sends: by its load mode. */
export type Pace = OpenPace | ClosedPace;

/** One sending thread's part of a run. */
export interface RunContext {
  /** When the plan starts on the run clock (the same for every thread). */
  startNs: bigint;
  /** The run's counters (shared memory when the run has several threads). */
  counters: RunCounters;
  /** Each of this thread's requests' index in the whole run (what cancellations are picked by). */
  indices: ArrayLike<number>;
  /** The run-wide concurrency cap, when there is one. */
  slots: SlotsLike | undefined;
  /** How this thread paces its sends. */
  pace: Pace;
  /** A stop condition fired in this thread: the coordinator stops the whole run. */
  stopped(reason: string): void;
  /** A request ended: the coordinator's error-rate window counts it (a no-op without one). */
  ended(failed: boolean, tNs: bigint): void;
}

/** What a load strategy sends with. */
export interface StrategyRun<P extends Pace> {
  /** The run's clock. */
  clock: RunClock;
  /** The run's load options. */
  load: LoadOptions;
  /** The requests this thread paces (each session's first turn, when sessions are replayed). */
  heads: readonly TraceRequest[];
  /** When the plan starts on the run clock. */
  startNs: bigint;
  /** This thread's pace. */
  pace: P;
  /** Sends a head (and its session's later turns). */
  sender: Sender;
  /** Aborted when sending must stop. */
  sending: AbortSignal;
  /**
   * Whether a request planned at `scheduledNs` may still be sent: a duration limit is on the
   * plan, so one planned before the end goes even when the sender reaches it after the timer.
   */
  mayStart: (scheduledNs: bigint) => boolean;
}

/**
 * A load mode: how heads are offered. It resolves when sending has ended; replies launched
 * without waiting may still be in flight (the replay drains them).
 */
export interface LoadStrategy<P extends Pace> {
  /** Sends `run.heads` by this mode's rule. */
  sendAll(run: StrategyRun<P>): Promise<void>;
}
