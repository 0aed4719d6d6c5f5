/**
 * The replay loop: sends requests by the run's load plan and records what comes back.
 *
 * Load modes: open loop (each request at its planned time, optionally ramped up) or closed
 * loop (N users, each sending its next request after the previous reply plus think time); a
 * concurrency cap for either; limits by duration and request count; injected cancellations;
 * stops on an error count or an error rate; retries (off by default). It computes no metrics:
 * it only moves events from the backend to the recorder.
 *
 * @module
 */
import type { Backend } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/request.ts";
import type { RunClock } from "./clock.ts";
import {
  type CancelInjection,
  pickedForCancel,
  rampArrivals,
  type RampUp,
} from "./load_plan.ts";
import { openLoopSchedule, sleepUntil } from "./pacer.ts";
import type { Recorder } from "./recorder.ts";
import { RequestTracker } from "./request_tracker.ts";
import { Slots } from "./_slots.ts";
import {
  planSessions,
  type SessionPlan,
  turnDelayMs,
  withHistory,
} from "./sessions.ts";

/** Counters of a replay in progress. */
export interface ReplayProgress {
  planned: number;
  sent: number;
  inFlight: number;
  done: number;
  errors: number;
  tokens: number;
  elapsedNs: bigint;
}

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
  errorRate?: { windowMs: number; maxRate: number; minRequests?: number };
  /** Retry failed requests (errors and timeouts, not HTTP 4xx or cancellations). Off by default. */
  retries?: { max: number; backoffMs: number };
  /**
   * Replay multi-turn sessions: a turn is sent only after the previous turn's reply plus the
   * trace's delay, carrying the conversation (see sessions.ts); a failed turn ends its session.
   */
  sessions?: boolean;
}

/** Options for {@linkcode replay}. */
export interface ReplayOptions {
  backend: Backend;
  /** Requests sorted by `arrivalMs` (closed loop: in the order users take them). */
  requests: readonly TraceRequest[];
  recorder: Pick<Recorder, "token" | "request">;
  clock: RunClock;
  /** Aborting stops sending and cancels requests in flight. */
  signal?: AbortSignal;
  /** Delay before the first planned arrival, in ms. Default 20. */
  leadMs?: number;
  load?: LoadOptions;
  /** Called about every `progressIntervalMs` and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 500. */
  progressIntervalMs?: number;
}

/** How a replay ended. */
export interface ReplayResult {
  /** `aborted` when a signal or a stop condition ended it early. */
  status: "completed" | "aborted";
  /** Why it was aborted, or which limit ended sending. */
  reason?: string;
  progress: ReplayProgress;
  /** Most requests in flight at once. */
  peakInFlight: number;
}

/**
 * Replays `requests` by the load plan in `opts.load` (default: open loop at the planned
 * times, whatever the backend's state, so a slow backend builds a queue as in production).
 *
 * @example
 * ```ts ignore
 * const result = await replay({ backend, requests, recorder, clock, load: { concurrency: 8 } });
 * console.log(result.status, result.progress.done);
 * ```
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { backend, requests, clock } = opts;
  const load = opts.load ?? {};
  validateLoad(load);
  const run = new RunState(opts, load);
  const ticker = setInterval(
    () => run.report(),
    opts.progressIntervalMs ?? 500,
  );
  const startNs = clock.nowNs() + BigInt(Math.round((opts.leadMs ?? 20) * 1e6));
  const n = Math.min(requests.length, load.maxRequests ?? Infinity);
  const sessions = load.sessions
    ? planSessions(requests.slice(0, n))
    : undefined;
  run.sessions = sessions;
  const heads = sessions ? sessions.heads : requests.slice(0, n);
  if (load.durationMs !== undefined) {
    run.stopSendingAt(
      startNs + BigInt(Math.round(load.durationMs * 1e6)),
      "duration limit",
    );
  }
  try {
    if ((load.mode ?? "open") === "open") {
      let arrivals = heads.map((r) => r.arrivalMs);
      if (load.rampUp) arrivals = rampArrivals(arrivals, load.rampUp);
      const schedule = openLoopSchedule(
        arrivals.map((a) => ({ arrivalMs: a })),
        startNs,
      );
      for (let i = 0; i < heads.length; i++) {
        if (!(await sleepUntil(clock, schedule[i], run.sending.signal))) break;
        run.launch(heads[i], schedule[i], backend);
      }
    } else {
      const users = load.users!;
      let cursor = 0;
      const user = async (u: number) => {
        const startAt = startNs + userStartOffsetNs(u, users, load.rampUp);
        if (!(await sleepUntil(clock, startAt, run.sending.signal))) return;
        while (cursor < heads.length && !run.sending.signal.aborted) {
          const i = cursor++;
          await run.sendTurns(heads[i], clock.nowNs(), backend);
          if (load.thinkMs) {
            const until = clock.nowNs() +
              BigInt(Math.round(load.thinkMs * 1e6));
            if (!(await sleepUntil(clock, until, run.sending.signal))) return;
          }
        }
      };
      await Promise.all(Array.from({ length: users }, (_, u) => user(u)));
    }
    await run.drain();
  } finally {
    clearInterval(ticker);
    run.dispose();
  }
  run.report();
  return run.result();
}

/** Closed-loop ramp: user u starts at u/U of a linear ramp, or at its step of a stepped one. */
function userStartOffsetNs(u: number, users: number, ramp?: RampUp): bigint {
  if (!ramp) return 0n;
  const frac = ramp.kind === "linear"
    ? u / users
    : Math.floor((u * (ramp.steps ?? 4)) / users) / (ramp.steps ?? 4);
  return BigInt(Math.round(frac * ramp.durationMs * 1e6));
}

function validateLoad(l: LoadOptions): void {
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

/** The mutable state of one replay: in-flight requests, counters, stop conditions. */
class RunState {
  /** Aborted when sending must stop (limits, stop conditions, signals). */
  readonly sending = new AbortController();
  /** Aborted when requests in flight must be cancelled too. */
  private readonly cancelAll = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly slots: Slots | undefined;
  private readonly recent: { tNs: bigint; failed: boolean }[] = [];
  private abortReason: string | undefined;
  private sendStopReason: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlightNow = 0;
  private peak = 0;
  /** Send order of first tries: the index injected cancellations are chosen by. */
  private sendIndex = 0;
  /** How requests chain into sessions, when sessions are replayed. */
  sessions: SessionPlan | undefined;
  readonly progress: ReplayProgress;
  private readonly onOuterAbort = () =>
    this.abort(String(this.opts.signal?.reason ?? "aborted"));

  constructor(
    private readonly opts: ReplayOptions,
    private readonly load: LoadOptions,
  ) {
    this.progress = {
      planned: Math.min(opts.requests.length, load.maxRequests ?? Infinity),
      sent: 0,
      inFlight: 0,
      done: 0,
      errors: 0,
      tokens: 0,
      elapsedNs: 0n,
    };
    this.slots = load.concurrency ? new Slots(load.concurrency) : undefined;
    if (opts.signal?.aborted) this.onOuterAbort();
    opts.signal?.addEventListener("abort", this.onOuterAbort, { once: true });
  }

  report(): void {
    this.progress.elapsedNs = this.opts.clock.nowNs();
    this.opts.onProgress?.({ ...this.progress });
  }

  /** Ends sending at `atNs`; requests in flight finish normally. */
  stopSendingAt(atNs: bigint, reason: string): void {
    const ms = Number(atNs - this.opts.clock.nowNs()) / 1e6;
    this.timer = setTimeout(() => this.stopSending(reason), Math.max(0, ms));
  }

  private stopSending(reason: string): void {
    this.sendStopReason ??= reason;
    this.sending.abort(reason);
  }

  /** Stops sending and cancels everything in flight; the run ends `aborted` with `reason`. */
  abort(reason: string): void {
    this.abortReason ??= reason;
    this.stopSending(reason);
    this.cancelAll.abort(reason);
  }

  /** Starts a request (and its session's later turns) without waiting for it (open loop). */
  launch(req: TraceRequest, scheduledNs: bigint, backend: Backend): void {
    const p = this.sendTurns(req, scheduledNs, backend);
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
  }

  /**
   * Sends a request; when it starts a session, each later turn follows the previous turn's
   * reply plus the trace's delay, with the conversation so far. A failed turn ends its session.
   */
  async sendTurns(
    req: TraceRequest,
    scheduledNs: bigint,
    backend: Backend,
  ): Promise<void> {
    const { clock } = this.opts;
    let cur = req;
    let sched = scheduledNs;
    for (;;) {
      const { ok, reply } = await this.send(
        cur,
        sched,
        this.sendIndex++,
        backend,
      );
      const next = this.sessions?.next.get(cur.id);
      if (!next || !ok || this.sending.signal.aborted) return;
      sched = clock.nowNs() + BigInt(Math.round(turnDelayMs(cur, next) * 1e6));
      if (!(await sleepUntil(clock, sched, this.sending.signal))) return;
      cur = withHistory(next, cur, reply);
    }
  }

  /**
   * Sends a request (waiting for a concurrency slot first) and records it; retries if asked.
   * Resolves with whether it (or its last retry) succeeded and the text it received.
   */
  async send(
    req: TraceRequest,
    scheduledNs: bigint,
    index: number,
    backend: Backend,
    attempt = 0,
  ): Promise<{ ok: boolean; reply: string }> {
    const { clock, recorder } = this.opts;
    const releasedNs = clock.nowNs();
    if (attempt === 0) this.progress.sent++;
    if (this.slots && !(await this.slots.acquire(this.cancelAll.signal))) {
      return { ok: false, reply: "" };
    }
    const keepReply = this.sessions?.next.has(req.id) ?? false;
    let reply = "";
    this.inFlightNow++;
    this.peak = Math.max(this.peak, this.inFlightNow);
    this.progress.inFlight = this.inFlightNow;
    const id = attempt === 0 ? req.id : `${req.id}~retry${attempt}`;
    const tracker = new RequestTracker({ ...req, id }, scheduledNs, recorder);
    tracker.setDispatch(releasedNs, attempt);
    const ctl = new AbortController();
    const onCancelAll = () => ctl.abort(this.cancelAll.signal.reason);
    if (this.cancelAll.signal.aborted) onCancelAll();
    this.cancelAll.signal.addEventListener("abort", onCancelAll, {
      once: true,
    });
    const inject = this.load.cancel && attempt === 0 &&
        pickedForCancel(index, this.load.cancel)
      ? this.load.cancel
      : undefined;
    let injectTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      for await (const ev of backend.generate({ ...req, id }, ctl.signal)) {
        if (ev.kind === "sent" && inject) {
          injectTimer = setTimeout(
            () => ctl.abort("injected cancellation"),
            inject.delayMs,
          );
        }
        tracker.onEvent(ev);
        if (ev.kind === "tokens") {
          this.progress.tokens += ev.count;
          if (keepReply && ev.channel === "content" && ev.text) {
            reply += ev.text;
          }
        }
      }
    } catch (e) {
      // A backend must not throw for request failures; record it rather than lose the run.
      tracker.onEvent({
        kind: "error",
        tNs: clock.nowNs(),
        errorKind: "protocol",
        message: `Backend ${backend.name} threw: ${(e as Error).message}`,
      });
    } finally {
      clearTimeout(injectTimer);
      this.cancelAll.signal.removeEventListener("abort", onCancelAll);
    }
    const row = tracker.finish();
    recorder.request(row);
    this.inFlightNow--;
    this.progress.inFlight = this.inFlightNow;
    this.slots?.release();
    const failed = row.status === "error" || row.status === "timeout";
    if (row.status === "ok") this.progress.done++;
    else this.progress.errors++;
    this.afterRequest(failed, clock.nowNs());
    const r = this.load.retries;
    const retryable = failed &&
      !(row.httpStatus !== undefined && row.httpStatus < 500);
    if (r && retryable && attempt < r.max && !this.sending.signal.aborted) {
      const at = clock.nowNs() + BigInt(Math.round(r.backoffMs * 1e6));
      if (await sleepUntil(clock, at, this.cancelAll.signal)) {
        return await this.send(req, clock.nowNs(), index, backend, attempt + 1);
      }
    }
    return { ok: row.status === "ok", reply };
  }

  /** Checks the stop conditions after a request ended. */
  private afterRequest(failed: boolean, tNs: bigint): void {
    const { stopAfterErrors, errorRate } = this.load;
    if (
      stopAfterErrors !== undefined && this.progress.errors >= stopAfterErrors
    ) {
      this.abort(
        `stopped after ${this.progress.errors} failed requests (limit ${stopAfterErrors})`,
      );
    }
    if (errorRate) {
      this.recent.push({ tNs, failed });
      const from = tNs - BigInt(Math.round(errorRate.windowMs * 1e6));
      while (this.recent.length > 0 && this.recent[0].tNs < from) {
        this.recent.shift();
      }
      const bad = this.recent.filter((r) => r.failed).length;
      const n = this.recent.length;
      if (n >= (errorRate.minRequests ?? 20) && bad / n > errorRate.maxRate) {
        this.abort(
          `stopped: ${bad} of the last ${n} requests failed within ${errorRate.windowMs} ms ` +
            `(rate ${(bad / n).toFixed(3)} > ${errorRate.maxRate})`,
        );
      }
    }
  }

  /** Waits until every launched request (and its retries) has ended. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener("abort", this.onOuterAbort);
  }

  result(): ReplayResult {
    const progress = { ...this.progress };
    if (this.abortReason !== undefined) {
      return {
        status: "aborted",
        reason: this.abortReason,
        progress,
        peakInFlight: this.peak,
      };
    }
    return {
      status: "completed",
      reason: this.sendStopReason,
      progress,
      peakInFlight: this.peak,
    };
  }
}
