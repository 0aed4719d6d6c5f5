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
import type { Backend, StreamSink } from "../adapters/backend.ts";
import { streamRequest } from "../adapters/stream_sink.ts";
import type { TraceRequest } from "../workloads/request.ts";
import type { RunClock } from "./clock.ts";
import { attemptId, generateRequest } from "./generate_request.ts";
import {
  type CancelInjection,
  pickedForCancel,
  rampArrivals,
  type RampUp,
} from "./load_plan.ts";
import {
  Metronome,
  SPIN_LEAD_MS,
  spinUntilWallMs,
  wallNowMs,
} from "./metronome.ts";
import { openLoopSchedule, sleepUntil } from "./pacer.ts";
import type { Recorder } from "./recorder.ts";
import { RequestTracker } from "./request_tracker.ts";
import { LocalCounters, type RunCounters } from "./_run_counters.ts";
import { Slots } from "./_slots.ts";
import type { SlotsLike } from "./_shared_slots.ts";
import {
  planSessions,
  type SessionPlan,
  turnDelayMs,
  withHistory,
} from "./sessions.ts";

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
  /** The backend to send to. */
  backend: Backend;
  /** Requests sorted by `arrivalMs` (closed loop: in the order users take them). */
  requests: readonly TraceRequest[];
  /** Where rows go; `requestSent` (in-flight rows) is optional for sinks that keep no store. */
  recorder:
    & Pick<Recorder, "token" | "request">
    & Partial<Pick<Recorder, "requestSent">>;
  /** The run's clock; plans and events are timed on it. */
  clock: RunClock;
  /** Aborting stops sending and cancels requests in flight. */
  signal?: AbortSignal;
  /** Delay before the first planned arrival, in ms. Default 20. */
  leadMs?: number;
  /** How load is offered and limited (default: open loop at the planned times). */
  load?: LoadOptions;
  /** Called about every `progressIntervalMs` and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 500. */
  progressIntervalMs?: number;
  /** This thread's share of a run spread over workers (set by parallel.ts only). */
  share?: RunShare;
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
}

/**
 * One thread's part of a run spread over workers (see parallel.ts): its requests are a subset
 * (open loop) or all of them (closed loop, claimed through a shared cursor); counters are
 * shared; stop conditions that need the whole run are reported to the coordinator.
 */
export interface RunShare {
  /** When the plan starts on the run clock (the same for every thread). */
  startNs: bigint;
  /** The run's counters, shared by every thread of the run. */
  counters: RunCounters;
  /** Each request's index in the whole run (what injected cancellations are picked by). */
  indices: ArrayLike<number>;
  /** Open loop: the send time of each head, ramp applied (run-wide plan, this thread's part). */
  scheduleNs?: BigInt64Array;
  /** Open loop: this thread's lane of the run's metronome. */
  beats?: MessagePort;
  /** Closed loop: the user numbers this thread plays. */
  users?: number[];
  /** Closed loop: the next head index, across threads. */
  claim?: () => number;
  /** The run-wide concurrency cap (instead of this thread's own `load.concurrency`). */
  slots?: SlotsLike;
  /** A stop condition fired here: the coordinator stops the other threads. */
  onAbort(reason: string): void;
  /** Error-rate stop: each ended request is reported to the coordinator, which keeps the window. */
  onEnded?(failed: boolean, tNs: bigint): void;
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
 * times, whatever the backend's state, so a slow backend builds a queue as in production).
 *
 * @example
 * ```ts ignore
 * const result = await replay({ backend, requests, recorder, clock, load: { concurrency: 8 } });
 * console.log(result.status, result.progress.done);
 * ```
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { backend, requests, clock, share } = opts;
  const load = opts.load ?? {};
  validateLoad(load);
  const run = new RunState(opts, load);
  const ticker = setInterval(
    () => run.report(),
    opts.progressIntervalMs ?? 500,
  );
  const startNs = share?.startNs ?? opts.startNs ??
    clock.nowNs() + BigInt(Math.round((opts.leadMs ?? 20) * 1e6));
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
    if (!share && opts.startNs !== undefined) {
      assertStartAhead(clock, opts.startNs);
    }
    if ((load.mode ?? "open") === "open") {
      const schedule = share?.scheduleNs ??
        openLoopPlan(heads, startNs, load.rampUp);
      if (schedule.length !== heads.length) {
        throw new Error(
          `Open-loop plan has ${schedule.length} send times for ${heads.length} requests`,
        );
      }
      const launch = (i: number) => run.launch(heads[i], schedule[i], backend);
      const wall = wallTimes(clock, schedule);
      if (share?.beats) {
        await paceByBeats(
          share.beats,
          wall,
          launch,
          run.sending.signal,
        );
      } else if (heads.length > 0) {
        const m = Metronome.start(
          wall,
          new Uint8Array(heads.length),
          1,
          backend.timesTokensElsewhere ? SPIN_LEAD_MS : 0,
        );
        try {
          await paceByBeats(
            m.ports[0],
            wall,
            launch,
            run.sending.signal,
            m.failed,
          );
        } finally {
          await m.stop();
        }
      }
    } else {
      const users = share?.users ??
        Array.from({ length: load.users! }, (_, u) => u);
      let cursor = 0;
      const claim = share?.claim ?? (() => cursor++);
      const user = async (u: number) => {
        const startAt = startNs +
          userStartOffsetNs(u, load.users!, load.rampUp);
        if (!(await sleepUntil(clock, startAt, run.sending.signal))) return;
        while (!run.sending.signal.aborted) {
          const i = claim();
          if (i >= heads.length) return;
          await run.sendTurns(heads[i], clock.nowNs(), backend);
          if (load.thinkMs) {
            const until = clock.nowNs() +
              BigInt(Math.round(load.thinkMs * 1e6));
            if (!(await sleepUntil(clock, until, run.sending.signal))) return;
          }
        }
      };
      await Promise.all(users.map((u) => user(u)));
    }
    await run.drain();
  } finally {
    clearInterval(ticker);
    run.dispose();
  }
  run.report();
  return run.result();
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

/**
 * Throws unless `startNs` is still ahead on `clock`: a shared start that has passed cannot be
 * kept (the plan would begin with a burst of late sends), so the run fails and says so.
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { assertStartAhead } from "./runner.ts";
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
 * Calls `launch(0..n-1)` as the metronome's beats arrive on `port`, each at its wall time
 * `wallMs[i]` (a beat comes up to its lead early: the rest is spun); resolves when all were
 * launched or `signal` aborted (then the port is closed and later beats are dropped); rejects
 * if the metronome fails (`failed`), since no more beats would come.
 */
function paceByBeats(
  port: MessagePort,
  wallMs: Float64Array,
  launch: (i: number) => void,
  signal: AbortSignal,
  failed?: Promise<Error>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const n = wallMs.length;
    let next = 0;
    let ended = false;
    const end = () => {
      ended = true;
      signal.removeEventListener("abort", finish);
      port.onmessage = null;
      port.close();
    };
    const finish = () => {
      if (ended) return;
      end();
      resolve();
    };
    failed?.then((e) => {
      if (ended) return;
      end();
      reject(e);
    });
    if (n === 0 || signal.aborted) return finish();
    signal.addEventListener("abort", finish, { once: true });
    port.onmessage = (e: MessageEvent<number>) => {
      for (let k = 0; k < e.data && next < n && !signal.aborted; k++) {
        spinUntilWallMs(wallMs[next]);
        launch(next++);
      }
      if (next >= n || signal.aborted) finish();
    };
  });
}

/** Closed-loop ramp: user u starts at u/U of a linear ramp, or at its step of a stepped one. */
function userStartOffsetNs(u: number, users: number, ramp?: RampUp): bigint {
  if (!ramp) return 0n;
  const frac = ramp.kind === "linear"
    ? u / users
    : Math.floor((u * (ramp.steps ?? 4)) / users) / (ramp.steps ?? 4);
  return BigInt(Math.round(frac * ramp.durationMs * 1e6));
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

/** The mutable state of one replay: in-flight requests, counters, stop conditions. */
class RunState {
  /** Aborted when sending must stop (limits, stop conditions, signals). */
  readonly sending = new AbortController();
  /** Aborted when requests in flight must be cancelled too. */
  private readonly cancelAll = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly slots: SlotsLike | undefined;
  private readonly errorWindow: ErrorRateWindow | undefined;
  private abortReason: string | undefined;
  private sendStopReason: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly counters: RunCounters;
  private readonly planned: number;
  /** Request id -> its index in the run: what injected cancellations are picked by. */
  private readonly indexOf = new Map<string, number>();
  /** How requests chain into sessions, when sessions are replayed. */
  sessions: SessionPlan | undefined;
  private readonly onOuterAbort = () =>
    this.abort(String(this.opts.signal?.reason ?? "aborted"));

  constructor(
    private readonly opts: ReplayOptions,
    private readonly load: LoadOptions,
  ) {
    this.planned = Math.min(opts.requests.length, load.maxRequests ?? Infinity);
    this.counters = opts.share?.counters ?? new LocalCounters();
    const idx = opts.share?.indices ?? opts.indices;
    opts.requests.forEach((r, i) => this.indexOf.set(r.id, idx ? idx[i] : i));
    this.slots = opts.share?.slots ??
      (load.concurrency ? new Slots(load.concurrency) : undefined);
    this.errorWindow = load.errorRate && !opts.share
      ? new ErrorRateWindow(load.errorRate)
      : undefined;
    if (opts.signal?.aborted) this.onOuterAbort();
    opts.signal?.addEventListener("abort", this.onOuterAbort, { once: true });
  }

  /** The counters now (the whole run's, when shared). */
  get progress(): ReplayProgress {
    const { peak: _, ...c } = this.counters.read();
    return { planned: this.planned, ...c, elapsedNs: this.opts.clock.nowNs() };
  }

  report(): void {
    this.opts.onProgress?.(this.progress);
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
        this.indexOf.get(cur.id) ?? 0,
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
    if (attempt === 0) this.counters.sent();
    if (this.slots && !(await this.slots.acquire(this.cancelAll.signal))) {
      return { ok: false, reply: "" };
    }
    const keepReply = this.sessions?.next.has(req.id) ?? false;
    let reply = "";
    this.counters.started();
    const id = attemptId(req.id, attempt);
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
    const counters = this.counters;
    // Called from the backend's read loop: no event object per token on the way to the rows.
    const sink: StreamSink = {
      wantsText: keepReply,
      tokens(tNs, count, channel, text) {
        tracker.onTokens(tNs, count, channel);
        counters.tokens(count);
        if (keepReply && channel === "content" && text) reply += text;
      },
      usage(_tNs, promptTokens, completionTokens, cachedTokens) {
        tracker.onUsage(promptTokens, completionTokens, cachedTokens);
      },
      event(ev) {
        if (ev.kind === "sent" && inject) {
          const cancel = () => ctl.abort("injected cancellation");
          // A delay of 0 cancels before any of the reply is read (the read loop's next await),
          // not after a timer that a busy machine can run after a fast reply has ended.
          if (inject.delayMs <= 0) queueMicrotask(cancel);
          else injectTimer = setTimeout(cancel, inject.delayMs);
        }
        tracker.onEvent(ev);
      },
    };
    try {
      await streamRequest(
        backend,
        generateRequest(req, attempt),
        ctl.signal,
        sink,
      );
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
    const errors = this.counters.ended(row.status === "ok");
    this.slots?.release();
    const failed = row.status === "error" || row.status === "timeout";
    this.afterRequest(failed, clock.nowNs(), errors);
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

  /** Checks the stop conditions after a request ended (`errors`: failed so far, run-wide). */
  private afterRequest(failed: boolean, tNs: bigint, errors: number): void {
    const { stopAfterErrors } = this.load;
    if (stopAfterErrors !== undefined && errors >= stopAfterErrors) {
      this.stopRun(
        `stopped after ${errors} failed requests (limit ${stopAfterErrors})`,
      );
    }
    this.opts.share?.onEnded?.(failed, tNs);
    const why = this.errorWindow?.add(failed, tNs);
    if (why) this.stopRun(why);
  }

  /** A stop condition fired: abort here and, in a spread run, everywhere. */
  private stopRun(reason: string): void {
    if (this.abortReason === undefined) this.opts.share?.onAbort(reason);
    this.abort(reason);
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
    const progress = this.progress;
    const peakInFlight = this.counters.read().peak;
    if (this.abortReason !== undefined) {
      return {
        status: "aborted",
        reason: this.abortReason,
        progress,
        peakInFlight,
      };
    }
    return {
      status: "completed",
      reason: this.sendStopReason,
      progress,
      peakInFlight,
    };
  }
}

/**
 * The error-rate stop: the failed fraction of the requests that ended within the last
 * `windowMs`, checked once at least `minRequests` (default 20) are in the window.
 *
 * @example
 * ```ts
 * import { ErrorRateWindow } from "./runner.ts";
 * const w = new ErrorRateWindow({ windowMs: 1000, maxRate: 0.5, minRequests: 2 });
 * console.log(w.add(true, 0n), typeof w.add(true, 1n)); // undefined string
 * ```
 */
export class ErrorRateWindow {
  private readonly recent: { tNs: bigint; failed: boolean }[] = [];
  private bad = 0;
  constructor(private readonly cfg: NonNullable<LoadOptions["errorRate"]>) {}

  /** Adds an ended request; returns why the run must stop, if it must. */
  add(failed: boolean, tNs: bigint): string | undefined {
    const { windowMs, maxRate } = this.cfg;
    this.recent.push({ tNs, failed });
    if (failed) this.bad++;
    const from = tNs - BigInt(Math.round(windowMs * 1e6));
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
