/**
 * Sending one request of a replay: a concurrency slot, the request's tracker (its rows), an
 * injected cancellation when the plan picks it, retries, and a session's later turns. Both
 * load modes (open_loop.ts, closed_loop.ts) send through one {@linkcode Sender}.
 *
 * @module
 */
import type { Backend, SendHandoff, StreamSink } from "../adapters/backend.ts";
import { streamRequest } from "../adapters/stream_sink.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import { msToNs, type RunClock } from "./clock.ts";
import { attemptId, generateRequest } from "./generate_request.ts";
import { type LoadOptions, pickedForCancel } from "./load_plan.ts";
import { sleepUntil, sleepUntilPlanned } from "./pacer.ts";
import type { RecorderRows } from "./recorder.ts";
import { RequestTracker } from "./request_tracker.ts";
import type { RunCounters } from "./_run_counters.ts";
import type { SlotsLike } from "./_shared_slots.ts";
import { type SessionPlan, turnDelayMs, withHistory } from "./sessions.ts";
import type { StopRules } from "./stop_rules.ts";

/** Where a replay's rows go; `requestSent` (in-flight rows) is optional for sinks that keep no store. */
export type ReplaySink =
  & Pick<RecorderRows, "token" | "request">
  & Partial<Pick<RecorderRows, "requestSent">>;

/** What a {@linkcode Sender} sends with. */
export interface SenderParts {
  /** The backend to send to. */
  backend: Backend;
  /** Where rows go. */
  recorder: ReplaySink;
  /** The run's clock. */
  clock: RunClock;
  /** Cancellations to inject and retries. */
  load: Pick<LoadOptions, "cancel" | "retries">;
  /** The run's counters (shared by every thread of a spread run). */
  counters: RunCounters;
  /** The run's concurrency cap, when it has one. */
  slots: SlotsLike | undefined;
  /** How requests chain into sessions, when sessions are replayed. */
  sessions: SessionPlan | undefined;
  /** Request id -> its index in the whole run: what injected cancellations are picked by. */
  indexOf: ReadonlyMap<string, number>;
  /** This thread's stop rules. */
  stop: StopRules;
  /** Each ended request, for the run's error-rate window. */
  ended(failed: boolean, tNs: bigint): void;
}

/** Sends requests of one thread and keeps those launched without waiting (open loop). */
export class Sender {
  private readonly inflight = new Set<Promise<void>>();

  /** A sender over `parts`. */
  constructor(private readonly parts: SenderParts) {}

  /**
   * Starts a request (and its session's later turns) without waiting for it (open loop);
   * `handoff`: its planned send, for a backend that takes it (armed_sends.ts).
   */
  launch(req: TraceRequest, scheduledNs: bigint, handoff?: SendHandoff): void {
    const p = this.sendTurns(req, scheduledNs, handoff);
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
  }

  /** Waits until every launched request (and its retries) has ended. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /**
   * Sends a request; when it starts a session, each later turn follows the previous turn's
   * reply plus the trace's delay, with the conversation so far. A failed turn ends its session.
   */
  async sendTurns(
    req: TraceRequest,
    scheduledNs: bigint,
    handoff?: SendHandoff,
  ): Promise<void> {
    const { clock, sessions, stop, indexOf } = this.parts;
    let cur = req;
    let sched = scheduledNs;
    let h = handoff;
    if (!stop.mayStart(sched)) return;
    for (;;) {
      const { ok, reply } = await this.send(
        cur,
        sched,
        indexOf.get(cur.id) ?? 0,
        0,
        h,
      );
      // Later turns follow replies, not the metronome.
      h = undefined;
      const next = sessions?.next.get(cur.id);
      if (!next || !ok || stop.sending.aborted) return;
      sched = clock.nowNs() + msToNs(turnDelayMs(cur, next));
      if (!stop.mayStart(sched)) return;
      const go = (ns: bigint) => stop.mayStart(ns);
      if (!(await sleepUntilPlanned(clock, sched, stop.sending, go))) return;
      cur = withHistory(next, cur, reply);
    }
  }

  /**
   * Sends a request (waiting for a concurrency slot first) and records it; retries if asked.
   * Resolves with whether it (or its last retry) succeeded and the text it received.
   */
  private async send(
    req: TraceRequest,
    scheduledNs: bigint,
    index: number,
    attempt = 0,
    handoff?: SendHandoff,
  ): Promise<{ ok: boolean; reply: string }> {
    const { clock, recorder, backend, counters, slots, stop, load } =
      this.parts;
    // A handed-over request is released by the metronome at its send (its `sent` time), not
    // here, ahead of time; until then, no earlier than planned.
    const nowNs = clock.nowNs();
    const releasedNs = handoff && nowNs < scheduledNs ? scheduledNs : nowNs;
    if (attempt === 0) counters.sent();
    if (slots && !(await slots.acquire(stop.cancelAll))) {
      return { ok: false, reply: "" };
    }
    const keepReply = this.parts.sessions?.next.has(req.id) ?? false;
    let reply = "";
    counters.started();
    const id = attemptId(req.id, attempt);
    const tracker = new RequestTracker({ ...req, id }, scheduledNs, recorder);
    tracker.setDispatch(releasedNs, attempt);
    const ctl = new AbortController();
    const onCancelAll = () => ctl.abort(stop.cancelAll.reason);
    if (stop.cancelAll.aborted) onCancelAll();
    stop.cancelAll.addEventListener("abort", onCancelAll, { once: true });
    const inject = load.cancel && attempt === 0 &&
        pickedForCancel(index, load.cancel)
      ? load.cancel
      : undefined;
    let injectTimer: ReturnType<typeof setTimeout> | undefined;
    // Called from the backend's read loop: no event object per token on the way to the rows.
    const sink: StreamSink = {
      wantsText: keepReply,
      handoff,
      tokens(tNs, count, channel, text) {
        tracker.onTokens(tNs, count, channel);
        counters.tokens(count);
        if (keepReply && channel === "content" && text) reply += text;
      },
      usage(_tNs, promptTokens, completionTokens, cachedTokens) {
        tracker.onUsage(promptTokens, completionTokens, cachedTokens);
      },
      event(ev) {
        if (ev.kind === "sent" && handoff) tracker.setDispatch(ev.tNs, attempt);
        if (ev.kind === "sent" && inject) {
          const cancel = () => ctl.abort("injected cancellation");
          // A delay of 0 cancels before any of the reply is read (the read loop's next await),
          // not after a timer that a busy machine can run after a fast reply has ended.
          // The delay counts from the send itself: a send made by the metronome's thread
          // (armed_sends.ts) is learnt of here later, by however long this thread was busy.
          const sinceSentMs = Number(clock.nowNs() - ev.tNs) / 1e6;
          if (inject.delayMs <= 0) queueMicrotask(cancel);
          else {
            injectTimer = setTimeout(
              cancel,
              Math.max(0, inject.delayMs - sinceSentMs),
            );
          }
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
      stop.cancelAll.removeEventListener("abort", onCancelAll);
    }
    const row = tracker.finish();
    recorder.request(row);
    const errors = counters.ended(row.status === "ok");
    slots?.release();
    const failed = row.status === "error" || row.status === "timeout";
    stop.ended(errors);
    this.parts.ended(failed, clock.nowNs());
    const r = load.retries;
    const retryable = failed &&
      !(row.httpStatus !== undefined && row.httpStatus < 500);
    if (r && retryable && attempt < r.max && !stop.sending.aborted) {
      const at = clock.nowNs() + msToNs(r.backoffMs);
      if (await sleepUntil(clock, at, stop.cancelAll)) {
        return await this.send(req, clock.nowNs(), index, attempt + 1);
      }
    }
    return { ok: row.status === "ok", reply };
  }
}
