/**
 * The replay loop: sends each request at its planned time and records what comes back.
 *
 * It computes no metrics: it only moves events from the backend to the recorder.
 *
 * @module
 */
import type { Backend } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/request.ts";
import type { RunClock } from "./clock.ts";
import { openLoopSchedule, sleepUntil } from "./pacer.ts";
import type { Recorder } from "./recorder.ts";
import { RequestTracker } from "./request_tracker.ts";

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

/** Options for {@linkcode replay}. */
export interface ReplayOptions {
  backend: Backend;
  /** Requests sorted by `arrivalMs`. */
  requests: readonly TraceRequest[];
  recorder: Recorder;
  clock: RunClock;
  /** Aborting stops sending and cancels requests in flight. */
  signal?: AbortSignal;
  /** Delay before the first planned arrival, in ms. Default 20. */
  leadMs?: number;
  /** Called about every `progressIntervalMs` and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 500. */
  progressIntervalMs?: number;
}

/** How a replay ended. */
export interface ReplayResult {
  status: "completed" | "aborted";
  /** The abort reason when aborted. */
  reason?: string;
  progress: ReplayProgress;
}

/**
 * Replays `requests` open loop: request i is sent at `start + arrivalMs[i]` whatever the
 * backend's state, so a slow backend builds a queue as it would in production.
 *
 * @example
 * ```ts ignore
 * const result = await replay({ backend, requests, recorder, clock });
 * console.log(result.status, result.progress.done);
 * ```
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const { backend, requests, recorder, clock } = opts;
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const progress: ReplayProgress = {
    planned: requests.length,
    sent: 0,
    inFlight: 0,
    done: 0,
    errors: 0,
    tokens: 0,
    elapsedNs: 0n,
  };
  const report = () => {
    progress.elapsedNs = clock.nowNs();
    opts.onProgress?.({ ...progress });
  };
  const ticker = setInterval(report, opts.progressIntervalMs ?? 500);

  const startNs = clock.nowNs() +
    BigInt(Math.round((opts.leadMs ?? 20) * 1e6));
  const schedule = openLoopSchedule(requests, startNs);
  const inflight = new Set<Promise<void>>();

  const one = async (req: TraceRequest, scheduledNs: bigint) => {
    const tracker = new RequestTracker(req, scheduledNs, recorder);
    try {
      for await (const ev of backend.generate(req, inner.signal)) {
        tracker.onEvent(ev);
        if (ev.kind === "tokens") progress.tokens += ev.count;
      }
    } catch (e) {
      // A backend must not throw for request failures; record it rather than lose the run.
      tracker.onEvent({
        kind: "error",
        tNs: clock.nowNs(),
        errorKind: "protocol",
        message: `Backend ${backend.name} threw: ${(e as Error).message}`,
      });
    }
    const row = tracker.finish();
    recorder.request(row);
    progress.inFlight--;
    if (row.status === "ok") progress.done++;
    else progress.errors++;
  };

  try {
    for (let i = 0; i < requests.length; i++) {
      if (!(await sleepUntil(clock, schedule[i], inner.signal))) break;
      progress.sent++;
      progress.inFlight++;
      const p = one(requests[i], schedule[i]);
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    }
    while (inflight.size > 0) await Promise.all([...inflight]);
  } finally {
    clearInterval(ticker);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
  report();
  if (inner.signal.aborted) {
    return {
      status: "aborted",
      reason: String(inner.signal.reason ?? "aborted"),
      progress: { ...progress },
    };
  }
  return { status: "completed", progress: { ...progress } };
}
