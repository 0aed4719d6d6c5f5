/**
 * One run from start to end: the `runs` row, the recorder, the replay and the final status.
 *
 * Whatever happens, every row appended before the end is flushed and the run is marked
 * `completed`, `aborted` (signal) or `failed` (an exception, which is rethrown).
 *
 * @module
 */
import type { Backend } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import type { RunClock } from "./clock.ts";
import { hostInfo, toolVersion } from "./provenance.ts";
import {
  DEFAULT_LIVE_SNAPSHOT_MS,
  Recorder,
  type RecorderOptions,
} from "./recorder.ts";
import type { LoadOptions } from "./load_plan.ts";
import { replay, type ReplayProgress, type ReplayResult } from "./runner.ts";
import { replaySpread } from "./parallel.ts";
import type { NewRun, RunStatus } from "./store.ts";
import {
  type PacingDecision,
  type PacingPriority,
  raisePacing,
  settleHeap,
} from "./pacing_priority.ts";

/** Options for {@linkcode executeRun}. */
export interface ExecuteRunOptions {
  /** The result database; the run holds it (in the recorder's worker) until it ends. */
  dbPath: string;
  /** The backend to replay against (left open: the caller closes it). */
  backend: Backend;
  /** The run's clock; every recorded time is on it. */
  clock: RunClock;
  /** The requests to replay, sorted by `arrivalMs`. */
  requests: readonly TraceRequest[];
  /** A name to find the run by later (`report --run <label>`). */
  label?: string;
  /** What the workload was (source file, checksum, transforms); stored as JSON. */
  workload?: unknown;
  /** The run's options; stored as JSON. */
  options?: unknown;
  /** Aborting stops sending, cancels requests in flight and marks the run `aborted`. */
  signal?: AbortSignal;
  /**
   * Aborting (a second Ctrl-C) marks the run `aborted` at once, with what is buffered committed
   * and without waiting for requests in flight (their rows stay `in_flight`); `onForced` is
   * called then (the CLI exits there). The abort reason is stored as the run's end reason.
   */
  forceSignal?: AbortSignal;
  /** Called once a forced end (`forceSignal`) has marked the run. */
  onForced?: () => void;
  /** Progress counters, about every 500 ms and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** How load is offered and limited (default: open loop at the planned times). */
  load?: LoadOptions;
  /**
   * Sender threads: 1 (default) replays on this thread; more spread the requests over that
   * many workers (see parallel.ts), for loads one event loop cannot keep. The backend must be
   * portable (`Backend.portable`); the built-in engine is not.
   */
  workers?: number;
  /** Options of the recorder (batching, live snapshots, foreign tables). */
  recorder?: RecorderOptions;
  /** Run id; a random UUID when absent. */
  runId?: string;
  /** A start shared with other processes, on `clock` (see `ReplayOptions.startNs`). */
  startNs?: bigint;
  /** Each request's index in the whole plan, for a shard's part (`ReplayOptions.indices`). */
  indices?: ArrayLike<number>;
  /** Sweep, suite, group and measurement-trim fields stored on the `runs` row (`NewRun`). */
  grouping?: Pick<
    NewRun,
    "sweep" | "suite" | "group" | "warmupNs" | "cooldownNs"
  >;
  /** The SLO and failure policy the run is judged by, stored in typed `runs` columns. */
  judgedBy?: Pick<NewRun, "slo" | "failurePolicy">;
  /**
   * How the thread that paces the sends is scheduled during the run (pacing_priority.ts);
   * default `auto`. What was done is stored in the run's host facts (`pacingThread`).
   */
  pacingPriority?: PacingPriority;
}

/** How a run ended. */
export interface ExecuteRunResult {
  /** The id of the `runs` row. */
  runId: string;
  /** How the run row was finished. */
  status: Exclude<RunStatus, "running">;
  /** The replay's own result (counters, why it stopped). */
  replay: ReplayResult;
  /** How the pacing thread ran: `SCHED_FIFO 10` or `normal (<why>)`. */
  pacingThread: string;
  /** Set when real-time pacing was wanted and refused: why, and what to do. */
  pacingRefused?: string;
}

/**
 * Executes one run into the store.
 *
 * @example
 * ```ts ignore
 * const { runId, status } = await executeRun({ store, backend, clock, requests });
 * ```
 */
export async function executeRun(
  opts: ExecuteRunOptions,
): Promise<ExecuteRunResult> {
  const { backend } = opts;
  const runId = opts.runId ?? crypto.randomUUID();
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Option "workers": expected an integer >= 1, got ${workers}`,
    );
  }
  const portable = workers > 1 ? await backend.portable?.() : undefined;
  if (workers > 1 && !portable) {
    throw new Error(
      `Backend ${backend.name} runs on one thread only (it cannot be rebuilt in sender workers): use 1 worker`,
    );
  }
  settleHeap();
  // Raised before the recorder starts: the threads started from here keep the normal policy.
  const pacing = raisePacing(opts.pacingPriority ?? "auto", backend, {
    workers,
    mode: opts.load?.mode ?? "open",
  });
  try {
    return await recordReplay(opts, runId, workers, portable, pacing);
  } finally {
    pacing.restore();
  }
}

async function recordReplay(
  opts: ExecuteRunOptions,
  runId: string,
  workers: number,
  portable: Awaited<ReturnType<NonNullable<Backend["portable"]>>> | undefined,
  pacing: PacingDecision,
): Promise<ExecuteRunResult> {
  const { backend, clock } = opts;
  const recorder = await Recorder.start(opts.dbPath, {
    runId,
    label: opts.label,
    backend: backend.name,
    workload: opts.workload,
    options: opts.options,
    toolVersion: toolVersion(),
    gitRev: await gitRev(),
    host: { ...hostInfo(), pacingThread: pacing.describe },
    clockOriginUnixNs: clock.originUnixNs,
    ...opts.grouping,
    ...opts.judgedBy,
    loadMode: opts.load?.mode ?? "open",
  }, {
    liveSnapshotMs: DEFAULT_LIVE_SNAPSHOT_MS,
    ...opts.recorder,
  });
  // A recording failure stops the run: replaying on without recording would lose data silently.
  const stop = new AbortController();
  const onOuter = () => stop.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onOuter();
  opts.signal?.addEventListener("abort", onOuter, { once: true });
  recorder.onError = (message) => stop.abort(message);
  let forced: Promise<void> | undefined;
  const onForce = () => {
    forced = recorder.abandon("aborted", String(opts.forceSignal?.reason))
      .finally(() => opts.onForced?.());
  };
  if (opts.forceSignal?.aborted) onForce();
  opts.forceSignal?.addEventListener("abort", onForce, { once: true });
  let result: ReplayResult;
  try {
    recorder.setBackendInfo(await backend.describe());
    backend.attachEngineSink?.({
      engineStep: (row) => recorder.engineStep(row),
      engineToken: (row) => recorder.engineToken(row),
      // After the run has ended, later records are expected to be refused; before, it is a
      // recording failure, which stops the run like any other.
      failed: (message) => {
        if (!recorder.ended) stop.abort(message);
      },
    });
    const common = {
      backend,
      requests: opts.requests,
      clock,
      signal: stop.signal,
      load: opts.load,
      onProgress: opts.onProgress,
      startNs: opts.startNs,
      indices: opts.indices,
    };
    result = portable
      ? await replaySpread({
        ...common,
        workers,
        recorder,
        portable,
        recorderOptions: opts.recorder,
      })
      : await replay({
        ...common,
        recorder,
        realtimeBeats: pacing.beatsRealtime,
      });
  } catch (e) {
    if (forced) await forced;
    else if (!recorder.ended) {
      await recorder.finish("failed", (e as Error).message);
    }
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", onOuter);
    opts.forceSignal?.removeEventListener("abort", onForce);
  }
  const status = result.status === "aborted" ? "aborted" : "completed";
  // A forced end (forceSignal) marks the run itself.
  if (forced) await forced;
  else await recorder.finish(status, result.reason);
  return {
    runId,
    status,
    replay: result,
    pacingThread: pacing.describe,
    pacingRefused: pacing.refused,
  };
}

async function gitRev(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short=12", "HEAD"],
      cwd: new URL(".", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success
      ? new TextDecoder().decode(out.stdout).trim()
      : undefined;
  } catch {
    return undefined;
  }
}
