/**
 * The scheduling priority of the thread that paces a run's sends.
 *
 * On a machine whose cores the backend itself keeps busy (the built-in engine on a CPU
 * adapter), a pacing thread at the normal policy loses its core to the engine's threads in
 * the middle of a spin or a send, for up to a scheduler tick: on a 2-core VM the schedule lag's
 * p99 was 1.8-4.2 ms at the bench's 8 req/s whatever the engine's nice value, its host or the
 * spin's lead, and 0.53-1.44 ms with this thread at `SCHED_FIFO` (docs/perf.md, "Real-time
 * pacing"). The raise uses `SCHED_RESET_ON_FORK`, so the threads and processes started from
 * here (the recorder, the engine's process) keep the normal policy; the metronome's thread,
 * which only sleeps and posts the beats, raises itself as well (runner.ts `realtimeBeats`).
 *
 * `auto` raises the thread only where its work between sends is light: an open loop on one
 * thread against a backend that times its tokens on another thread
 * (`Backend.timesTokensElsewhere`). A backend that reads its replies on this thread would take
 * the core from a server on the same machine at every read; that is `realtime`'s choice to make,
 * not the default. The metronome's thread is raised by `auto` in every open loop on one
 * thread ({@linkcode PacingDecision.beatsRealtime}): it takes no CPU to speak of, and at the
 * normal policy its own wake-ups were p99 2.3-3.9 ms late at 1,000 req/s on a 2-core machine
 * (0.14-0.43 ms raised), a third of the schedule lag of the late sends (docs/perf.md,
 * "Continued (tail13e)").
 *
 * @module
 */
import type { Backend } from "../adapters/backend.ts";
import {
  raiseThreadToRealtime,
  restoreThreadPolicy,
} from "../adapters/thread_priority.ts";

/** How the pacing thread is scheduled: `auto` (see the module), `realtime` or `normal`. */
export type PacingPriority = "auto" | "realtime" | "normal";

/** The values `--pacing-priority` accepts. */
export const PACING_PRIORITIES: readonly PacingPriority[] = [
  "auto",
  "realtime",
  "normal",
];

/** The real-time priority used (1-99): above none of the system's own real-time threads. */
export const PACING_RT_PRIORITY = 10;

/** What was decided for a run's pacing thread, and how to undo it. */
export interface PacingDecision {
  /** What was asked. */
  asked: PacingPriority;
  /** Whether the thread runs at `SCHED_FIFO` now. */
  raised: boolean;
  /**
   * Whether the open loop's metronome thread should raise itself to `SCHED_FIFO` (where
   * permitted): with the pacing thread, and under `auto` also where the pacing thread stays
   * normal because it reads replies.
   */
  beatsRealtime: boolean;
  /** One line for the run's host facts: `SCHED_FIFO 10` or `normal (<why>)`. */
  describe: string;
  /** Set when `realtime` (or `auto` where it applies) was refused: why, and what to do. */
  refused?: string;
  /** Returns the thread to the normal policy (idempotent). */
  restore(): void;
}

/** Where the run paces from: what `auto` decides by. */
export interface PacingSetting {
  /** Sender threads (more than 1: they pace, not this thread). */
  workers: number;
  /** The load mode (a closed loop sends on replies, not on a schedule). */
  mode: "open" | "closed";
}

/**
 * Raises the calling thread for a run's sending, as `asked` and the run's setting decide.
 *
 * @example
 * ```ts ignore
 * const pacing = raisePacing("auto", backend, { workers: 1, mode: "open" });
 * try {
 *   await replay(opts);
 * } finally {
 *   pacing.restore();
 * }
 * ```
 */
export function raisePacing(
  asked: PacingPriority,
  backend: Pick<Backend, "timesTokensElsewhere">,
  setting: PacingSetting,
): PacingDecision {
  const normal = (
    why: string,
    refused?: string,
    beatsRealtime = false,
  ): PacingDecision => ({
    asked,
    raised: false,
    beatsRealtime,
    describe: `normal (${why})`,
    refused,
    restore() {},
  });
  if (asked === "normal") return normal("--pacing-priority normal");
  if (setting.workers > 1) return normal("sender workers pace the sends");
  if (asked === "auto") {
    if (setting.mode === "closed") {
      return normal("closed loop: sends follow replies");
    }
    if (!backend.timesTokensElsewhere) {
      return normal(
        "auto: the backend reads its replies on the pacing thread",
        undefined,
        true,
      );
    }
  }
  const r = raiseThreadToRealtime(PACING_RT_PRIORITY);
  if (!r.raised) {
    return normal(
      r.reason,
      `the pacing thread could not be raised to real-time scheduling: ${r.reason}; ` +
        `its send times may lag by a scheduler tick on a busy machine (grant CAP_SYS_NICE, ` +
        `raise \`ulimit -r\` to ${PACING_RT_PRIORITY}, or pass --pacing-priority normal)`,
    );
  }
  let raised = true;
  return {
    asked,
    get raised() {
      return raised;
    },
    beatsRealtime: true,
    describe: `SCHED_FIFO ${PACING_RT_PRIORITY}`,
    restore() {
      if (!raised) return;
      raised = false;
      restoreThreadPolicy();
    },
  };
}

/**
 * Runs a full garbage collection now, where the runtime exposes one (`--v8-flags=--expose-gc`,
 * which `deno task bench` and `perf:lag` pass); returns whether it did. V8 may still owe work
 * for garbage made before a run (the bench's reports between its points); paid at the run's
 * first sends it delayed them by 3-11 ms in a probe (docs/perf.md, "Real-time pacing"). Called
 * before a run starts, while nothing is timed.
 */
export function settleHeap(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}
