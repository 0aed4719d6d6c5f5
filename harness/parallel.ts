/**
 * Spread runs: one run's requests replayed by several sender workers, for loads one event
 * loop cannot keep (a timer or a stream read waits behind every other stream's work).
 *
 * The coordinator (this module, on the thread that called it) plans the run once, then:
 * - open loop: deals the planned requests to the workers round-robin (a session's turns stay
 *   with its first turn) and paces every worker from one metronome thread;
 * - closed loop: gives every worker all requests and its share of the users; a shared cursor
 *   hands out the next request, so users take requests in plan order across workers;
 * - a concurrency cap is one for the whole run: slots in shared memory, taken directly while
 *   nobody waits, else granted oldest-first by the coordinator (harness/_shared_slots.ts);
 * - counters live in shared memory (progress line, peak in flight, the error-count stop);
 *   the error-rate window and stop signals go through the coordinator;
 * - each worker posts its rows straight to the recorder's worker (its own port), so rows do
 *   not pass through the coordinator.
 *
 * @module
 */
import type { PortableBackend } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import { ARM_LEAD_MS, armedTable } from "./armed_sends.ts";
import { Metronome } from "./metronome.ts";
import type { Recorder, RecorderOptions } from "./recorder.ts";
import {
  type LoadOptions,
  openLoopPlan,
  planRequests,
  planStartNs,
  validateLoad,
  wallTimes,
} from "./load_plan.ts";
import { progressOf, type ReplayOptions, type ReplayResult } from "./runner.ts";
import { ErrorRateWindow, type StopOutcome } from "./stop_rules.ts";
import { SharedCounters } from "./_run_counters.ts";
import { SharedSlots, SlotBroker, type SlotRequest } from "./_shared_slots.ts";

/** Coordinator -> sender worker. */
export type ToSender =
  | {
    op: "init";
    runId: string;
    lane: number;
    lanes: number;
    backend: PortableBackend;
    /** `performance.timeOrigin + clock.originMs` of the run clock. */
    clockWallOriginMs: number;
    requests: TraceRequest[];
    indices: Int32Array;
    load: LoadOptions;
    /** Open loop: each head's send time minus the start time. */
    scheduleOffsetsNs?: BigInt64Array;
    users?: number[];
    counters: SharedArrayBuffer;
    /** The run's concurrency cap, when there is one. */
    slots?: { buffer: SharedArrayBuffer; cap: number };
    recorderPort: MessagePort;
    recorderOptions: Pick<RecorderOptions, "batchRows" | "flushIntervalMs">;
  }
  | {
    op: "go";
    startNs: bigint;
    beats?: MessagePort;
    /** The lane's table of armed sends (armed_sends.ts), when the metronome makes them. */
    armed?: SharedArrayBuffer;
  }
  | { op: "abort"; reason: string }
  | { op: "slot-grant"; id: number };

/** Sender worker -> coordinator. */
export type FromSender =
  | {
    op: "ready";
    /** Whether the worker's backend takes send hand-offs (`Backend.takesSendHandoffs`). */
    takesSendHandoffs: boolean;
  }
  | { op: "abort"; reason: string }
  | { op: "ended"; failed: boolean; tNs: bigint }
  | { op: "result"; outcome: StopOutcome }
  | { op: "error"; message: string }
  | SlotRequest;

/** Options of {@linkcode replaySpread}: a replay's, plus the workers and what they need. */
export interface SpreadOptions extends Omit<ReplayOptions, "recorder"> {
  /** Sender workers (>= 2; fewer when the cap, the users or the requests are fewer). */
  workers: number;
  /** The run's recorder (its owner): each worker records through its own attached port. */
  recorder: Recorder;
  /** The backend as each worker rebuilds it. */
  portable: PortableBackend;
  recorderOptions?: Pick<RecorderOptions, "batchRows" | "flushIntervalMs">;
}

/** One worker's part of the plan. */
interface Lane {
  requests: TraceRequest[];
  indices: number[];
  /** Open loop: indices of its heads in the run's head list. */
  heads: number[];
  users?: number[];
  load: LoadOptions;
}

/**
 * Replays `requests` like {@linkcode replay}, spread over `workers` sender workers. Rows are
 * the same as a one-thread replay's (one per request and attempt, every token event); what
 * differs is that no one event loop carries all streams.
 *
 * @example
 * ```ts ignore
 * const result = await replaySpread({
 *   workers: 2, backend, portable: await backend.portable!(), requests, recorder, clock,
 * });
 * ```
 */
export async function replaySpread(opts: SpreadOptions): Promise<ReplayResult> {
  const { requests, clock } = opts;
  const load = opts.load ?? {};
  validateLoad(load);
  const { list, heads } = planRequests(requests, load);
  const n = list.length;
  const closed = load.mode === "closed";
  const lanes = planLanes(list, heads, load, opts.workers);
  const W = lanes.length;
  const counters = SharedCounters.buffer(W);
  const view = new SharedCounters(counters, 0, W);
  const cap = load.concurrency;
  const slotBuffer = cap === undefined ? undefined : SharedSlots.buffer();
  const broker = slotBuffer === undefined ? undefined : new SlotBroker(
    slotBuffer,
    cap!,
    (lane, id) =>
      workers[lane].postMessage({ op: "slot-grant", id } satisfies ToSender),
  );
  const workers: Worker[] = [];
  const results: (StopOutcome | undefined)[] = new Array(W);
  const errorWindow = load.errorRate
    ? new ErrorRateWindow(load.errorRate)
    : undefined;
  let abortReason: string | undefined;
  let failure: string | undefined;
  let metronome: Metronome | undefined;
  const broadcast = (reason: string) => {
    abortReason ??= reason;
    for (const w of workers) {
      w.postMessage({ op: "abort", reason } satisfies ToSender);
    }
  };
  const onOuterAbort = () =>
    broadcast(String(opts.signal?.reason ?? "aborted"));
  let settle: () => void = () => {};
  const allDone = new Promise<void>((r) => (settle = r));
  let ready = 0;
  let handoffs = 0;
  let readyAll: () => void = () => {};
  const allReady = new Promise<void>((r) => (readyAll = r));
  let remaining = W;
  const progress = () => progressOf(view, n, clock);
  const ticker = setInterval(
    () => opts.onProgress?.(progress()),
    opts.progressIntervalMs ?? 500,
  );
  try {
    const origin = performance.timeOrigin + clock.originMs;
    const offsets = closed ? undefined : openLoopPlan(heads, 0n, load.rampUp);
    for (let l = 0; l < W; l++) {
      const lane = lanes[l];
      const w = new Worker(new URL("./_sender_worker.ts", import.meta.url), {
        type: "module",
      });
      workers.push(w);
      w.onerror = (e) => {
        e.preventDefault();
        fail(`Sender worker ${l} failed: ${e.message}`);
      };
      w.onmessage = (e: MessageEvent<FromSender>) => {
        const m = e.data;
        if (m.op === "ready") {
          if (m.takesSendHandoffs) handoffs++;
          if (++ready === W) readyAll();
        } else if (m.op === "abort") broadcast(m.reason);
        else if (m.op === "ended") {
          const why = errorWindow?.add(m.failed, m.tNs);
          if (why) broadcast(why);
        } else if (m.op === "result") {
          results[l] = m.outcome;
          if (--remaining === 0) settle();
        } else if (m.op === "error") {
          fail(`Sender worker ${l}: ${m.message}`);
        } else broker?.on(l, m);
      };
      const port = opts.recorder.attachProducer();
      w.postMessage(
        {
          op: "init",
          runId: opts.recorder.runId,
          lane: l,
          lanes: W,
          backend: opts.portable,
          clockWallOriginMs: origin,
          requests: lane.requests,
          indices: Int32Array.from(
            lane.indices,
            (i) => opts.indices === undefined ? i : opts.indices[i],
          ),
          load: lane.load,
          scheduleOffsetsNs: offsets
            ? BigInt64Array.from(lane.heads, (h) => offsets[h])
            : undefined,
          users: lane.users,
          counters,
          slots: slotBuffer ? { buffer: slotBuffer, cap: cap! } : undefined,
          recorderPort: port,
          recorderOptions: opts.recorderOptions ?? {},
        } satisfies ToSender,
        [port],
      );
    }
    if (opts.signal?.aborted) onOuterAbort();
    opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
    await Promise.race([allReady, allDone]);
    if (failure) throw new Error(failure);
    // Workers (the metronome's too) start their modules at different speeds: the plan starts
    // once all are ready.
    // Sends armed for the metronome's thread where every worker's backend takes them
    // (armed_sends.ts); that thread then makes the sends and is raised as a pacing thread.
    const tables = offsets && handoffs === W && !cap && opts.armSends !== false
      ? lanes.map(() => armedTable())
      : undefined;
    if (offsets) metronome = await Metronome.boot(W, tables !== undefined);
    const startNs = planStartNs(clock, opts.startNs, opts.leadMs);
    let beats: MessagePort[] = [];
    if (offsets && metronome) {
      const laneOf = new Uint8Array(heads.length);
      lanes.forEach((lane, l) => lane.heads.forEach((h) => (laneOf[h] = l)));
      metronome.play(
        wallTimes(clock, offsets.map((o) => o + startNs)),
        laneOf,
        tables ? ARM_LEAD_MS : 0,
        tables,
      );
      beats = metronome.ports;
      metronome.failed.then((e) => fail(e.message));
    }
    workers.forEach((w, l) =>
      w.postMessage(
        {
          op: "go",
          startNs,
          beats: beats[l],
          armed: tables?.[l],
        } satisfies ToSender,
        beats[l] ? [beats[l]] : [],
      )
    );
    await allDone;
    if (failure) throw new Error(failure);
  } finally {
    clearInterval(ticker);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    await metronome?.stop();
    for (const w of workers) w.terminate();
  }
  const p = progress();
  opts.onProgress?.(p);
  const peakInFlight = view.read().peak;
  const stopped = results.find((r) => r?.reason !== undefined)?.reason;
  if (abortReason !== undefined) {
    return {
      status: "aborted",
      reason: abortReason,
      progress: p,
      peakInFlight,
    };
  }
  return { status: "completed", reason: stopped, progress: p, peakInFlight };

  function fail(message: string): void {
    failure ??= message;
    broadcast(message);
    settle();
    readyAll();
  }
}

/**
 * Splits a run into worker lanes. Open loop: heads dealt round-robin, each session's later
 * turns with its head. Closed loop: all requests everywhere, users dealt round-robin. Never
 * more lanes than the concurrency cap, the users or the heads. The cap itself is not in the
 * lanes' load: it is the run's shared one.
 */
export function planLanes(
  list: readonly TraceRequest[],
  heads: readonly TraceRequest[],
  load: LoadOptions,
  workers: number,
): Lane[] {
  const closed = load.mode === "closed";
  let W = Math.max(1, Math.min(workers, 255));
  if (load.concurrency !== undefined) W = Math.min(W, load.concurrency);
  if (closed) W = Math.min(W, load.users!);
  else W = Math.max(1, Math.min(W, heads.length));
  const base: LoadOptions = {
    ...load,
    maxRequests: undefined,
    concurrency: undefined,
  };
  const lanes: Lane[] = Array.from({ length: W }, () => ({
    requests: [],
    indices: [],
    heads: [],
    load: { ...base },
  }));
  if (closed) {
    for (const lane of lanes) {
      lane.requests = [...list];
      lane.indices = list.map((_, i) => i);
    }
    for (let u = 0; u < load.users!; u++) {
      (lanes[u % W].users ??= []).push(u);
    }
    return lanes;
  }
  // The ramp is part of the run-wide plan (send times); lanes get the times, not the ramp.
  for (const lane of lanes) lane.load.rampUp = undefined;
  const laneOfHead = new Map<TraceRequest, number>();
  heads.forEach((h, k) => {
    laneOfHead.set(h, k % W);
    lanes[k % W].heads.push(k);
  });
  const laneOfSession = new Map<string, number>();
  for (const h of heads) {
    if (h.sessionId !== undefined) {
      laneOfSession.set(h.sessionId, laneOfHead.get(h)!);
    }
  }
  list.forEach((r, i) => {
    const l = laneOfHead.get(r) ??
      (r.sessionId !== undefined ? laneOfSession.get(r.sessionId) : undefined);
    if (l === undefined) return;
    lanes[l].requests.push(r);
    lanes[l].indices.push(i);
  });
  return lanes;
}

/** Planned request rate one sender thread is given in `auto` (see {@linkcode autoWorkers}). */
export const RATE_PER_WORKER = 500;
/** Closed-loop users one sender thread is given in `auto`. */
export const USERS_PER_WORKER = 128;

/**
 * How many sender threads `--workers auto` uses: one per {@linkcode RATE_PER_WORKER} req/s of
 * the busiest second of the open-loop plan (or per {@linkcode USERS_PER_WORKER} closed-loop
 * users), at most `cores - 1` (a core is left to the recorder and the rest of the process)
 * and at most 16. On 2 cores that is always 1: there, a second sender thread did not lower the
 * measured schedule lag or token error (docs/perf.md), since both cores are already shared
 * with the recorder and, in calibration, the server.
 *
 * @example
 * ```ts
 * import { autoWorkers } from "./parallel.ts";
 * const reqs = Array.from({ length: 3000 }, (_, i) => ({ arrivalMs: i / 3 })); // 3000 req/s
 * console.log(autoWorkers(reqs, {}, 16), autoWorkers(reqs, {}, 2)); // 6 1
 * ```
 */
export function autoWorkers(
  requests: readonly Pick<TraceRequest, "arrivalMs">[],
  load: Pick<LoadOptions, "mode" | "users" | "maxRequests">,
  cores: number = navigator.hardwareConcurrency,
): number {
  const cap = Math.max(1, Math.min(16, cores - 1));
  if (load.mode === "closed") {
    return Math.min(cap, Math.ceil((load.users ?? 1) / USERS_PER_WORKER));
  }
  const n = Math.min(requests.length, load.maxRequests ?? Infinity);
  let peak = 0;
  for (let i = 0, j = 0; i < n; i++) {
    while (requests[i].arrivalMs - requests[j].arrivalMs >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return Math.max(1, Math.min(cap, Math.ceil(peak / RATE_PER_WORKER)));
}
