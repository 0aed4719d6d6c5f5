/**
 * Stop rules: when a replay stops sending (a duration limit, an outer abort) and when it stops
 * the whole run, cancelling requests in flight (an error count, an error rate, a signal).
 *
 * Each sending thread keeps its own {@linkcode StopRules}; the error-rate window needs every
 * ended request of the run, so it lives with the run's coordinator (runner.ts for one thread,
 * parallel.ts for many) as an {@linkcode ErrorRateWindow}.
 *
 * @module
 */
import { msToNs, type RunClock } from "./clock.ts";
import type { ErrorRateLimit, LoadOptions } from "./load_plan.ts";

/** How one thread's replay ended, before the run's counters are added. */
export interface StopOutcome {
  /** `aborted` when a signal or a stop condition ended it early. */
  status: "completed" | "aborted";
  /** Why it was aborted, or which limit ended sending. */
  reason?: string;
}

/** The stop state of one sending thread. */
export class StopRules {
  private readonly sendingCtl = new AbortController();
  private readonly cancelCtl = new AbortController();
  private abortReason: string | undefined;
  private sendStopReason: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sendEnd: { atNs: bigint; reason: string } | undefined;
  private readonly onOuterAbort = () =>
    this.abort(String(this.signal?.reason ?? "aborted"));

  /**
   * Rules of `load` for a thread on `clock`; `signal` (the caller's, or the coordinator's)
   * aborts the run; `stopped` tells the coordinator that a rule fired here.
   */
  constructor(
    private readonly load: Pick<LoadOptions, "stopAfterErrors">,
    private readonly clock: RunClock,
    private readonly stopped: (reason: string) => void,
    private readonly signal?: AbortSignal,
  ) {
    if (signal?.aborted) this.onOuterAbort();
    signal?.addEventListener("abort", this.onOuterAbort, { once: true });
  }

  /** Aborted when sending must stop (limits, stop conditions, signals). */
  get sending(): AbortSignal {
    return this.sendingCtl.signal;
  }

  /** Aborted when requests in flight must be cancelled too. */
  get cancelAll(): AbortSignal {
    return this.cancelCtl.signal;
  }

  /**
   * Ends sending at `atNs`; requests in flight finish normally. The limit is on the plan, not
   * on when a timer fires: a request planned before `atNs` is sent even if the sender reaches
   * it late, and none planned at or after it is ({@linkcode mayStart}). The timer only wakes a
   * sender that is waiting for its next request.
   */
  stopSendingAt(atNs: bigint, reason: string): void {
    this.sendEnd = { atNs, reason };
    const ms = Number(atNs - this.clock.nowNs()) / 1e6;
    this.timer = setTimeout(() => this.stopSending(reason), Math.max(0, ms));
  }

  /**
   * Whether a request planned at `scheduledNs` may still start: sending was not stopped, and
   * it lies before the end set by {@linkcode stopSendingAt}. A request past that end stops
   * sending (with its reason) and is not sent.
   */
  mayStart(scheduledNs: bigint): boolean {
    if (this.abortReason !== undefined) return false;
    if (this.sendEnd === undefined) return !this.sendingCtl.signal.aborted;
    if (scheduledNs < this.sendEnd.atNs) return true; // even after the timer fired
    this.stopSending(this.sendEnd.reason);
    return false;
  }

  private stopSending(reason: string): void {
    this.sendStopReason ??= reason;
    this.sendingCtl.abort(reason);
  }

  /** Stops sending and cancels everything in flight; the run ends `aborted` with `reason`. */
  abort(reason: string): void {
    this.abortReason ??= reason;
    this.stopSending(reason);
    this.cancelCtl.abort(reason);
  }

  /** Checks the error-count stop after a request ended (`errors`: failed so far, run-wide). */
  ended(errors: number): void {
    const { stopAfterErrors } = this.load;
    if (stopAfterErrors !== undefined && errors >= stopAfterErrors) {
      this.stopRun(
        `stopped after ${errors} failed requests (limit ${stopAfterErrors})`,
      );
    }
  }

  /** A stop condition fired: abort here and tell the coordinator (which stops the rest). */
  stopRun(reason: string): void {
    if (this.abortReason === undefined) this.stopped(reason);
    this.abort(reason);
  }

  /** How the thread's replay ended. */
  outcome(): StopOutcome {
    return this.abortReason !== undefined
      ? { status: "aborted", reason: this.abortReason }
      : { status: "completed", reason: this.sendStopReason };
  }

  /** Clears the duration timer and the signal's listener. */
  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this.onOuterAbort);
  }
}

/**
 * The error-rate stop: the failed fraction of the requests that ended within the last
 * `windowMs`, checked once at least `minRequests` (default 20) are in the window.
 *
 * @example
 * ```ts
 * import { ErrorRateWindow } from "./stop_rules.ts";
 * const w = new ErrorRateWindow({ windowMs: 1000, maxRate: 0.5, minRequests: 2 });
 * console.log(w.add(true, 0n), typeof w.add(true, 1n)); // undefined string
 * ```
 */
export class ErrorRateWindow {
  private readonly recent: { tNs: bigint; failed: boolean }[] = [];
  private bad = 0;
  /** A window for the limit `cfg`. */
  constructor(private readonly cfg: ErrorRateLimit) {}

  /** Adds an ended request; returns why the run must stop, if it must. */
  add(failed: boolean, tNs: bigint): string | undefined {
    const { windowMs, maxRate } = this.cfg;
    this.recent.push({ tNs, failed });
    if (failed) this.bad++;
    const from = tNs - msToNs(windowMs);
    while (this.recent.length > 0 && this.recent[0].tNs < from) {
      if (this.recent.shift()!.failed) this.bad--;
    }
    const n = this.recent.length;
    if (n >= (this.cfg.minRequests ?? 20) && this.bad / n > maxRate) {
      return `stopped: ${this.bad} of the last ${n} requests failed within ${windowMs} ms ` +
        `(rate ${(this.bad / n).toFixed(3)} > ${maxRate})`;
    }
    return undefined;
  }
}
