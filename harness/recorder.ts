/**
 * The recorder: writes a run's request and token rows to the result store from a worker
 * thread, so the thread that reads streams and takes timestamps never waits on the database.
 *
 * The measuring thread buffers rows as columns and posts a batch every `batchRows` rows or
 * `flushIntervalMs` milliseconds (typed arrays are transferred, not copied; _recorder_rows.ts).
 * The worker owns the database for the whole run, appends each batch and commits it at once,
 * so a crash loses at most the rows buffered or in transit. Measured: database writes on the
 * measuring thread delayed token reads by 2-20 ms (docs/perf.md); through the worker they
 * cost a postMessage.
 *
 * Two roles, two types: the {@linkcode Recorder} (the owner) starts the database thread,
 * attaches producers and ends the run; a {@linkcode RecorderProducer} (a sender worker of a
 * spread run) posts its rows straight to that thread on an attached port and ends with
 * `detach`. Calling one role's end on the other does not compile.
 *
 * @module
 */
import type { NewRun, RunStatus } from "./store.ts";
import type { FromWorker, ToWorker } from "./_recorder_protocol.ts";
import { RecorderRows } from "./_recorder_rows.ts";

export {
  DEFAULT_BATCH_ROWS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_LIVE_SNAPSHOT_MS,
  type RecorderOptions,
  type RecorderStats,
  type RequestRow,
} from "./recorder_options.ts";
export { RecorderRows } from "./_recorder_rows.ts";
import {
  DEFAULT_BATCH_ROWS,
  DEFAULT_FLUSH_INTERVAL_MS,
  type RecorderOptions,
  type RecorderStats,
} from "./recorder_options.ts";

/**
 * Records one run into the result database at `path`, which it holds until {@linkcode finish}:
 * the run's owner.
 *
 * @example
 * ```ts
 * import { Recorder } from "./recorder.ts";
 * import { Store } from "./store.ts";
 * const path = `${await Deno.makeTempDir()}/r.duckdb`;
 * const rec = await Recorder.start(path, {
 *   runId: "run-1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n,
 * });
 * rec.token("req-0", 0, 1_000_000n, 1, "content");
 * await rec.finish("completed");
 * const store = await Store.open(path, { readOnly: true });
 * console.log((await store.query("select count(*)::int as n from token_events"))[0].n); // 1
 * store.close();
 * ```
 */
export class Recorder extends RecorderRows {
  private constructor(
    /** The recorder's database thread. */
    private readonly worker: Worker,
    runId: string,
    batchRows: number,
    flushIntervalMs: number,
  ) {
    super(
      (m, t) => worker.postMessage(m, t ?? []),
      runId,
      batchRows,
      flushIntervalMs,
    );
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
  }

  /** Opens (creating and migrating) the database in a worker and inserts the `runs` row. */
  static start(
    path: string,
    run: NewRun,
    opts: RecorderOptions = {},
  ): Promise<Recorder> {
    const worker = new Worker(
      new URL("./_recorder_worker.ts", import.meta.url),
      { type: "module" },
    );
    return new Promise((resolve, reject) => {
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new Error(`Recorder worker failed: ${e.message}`));
      };
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data.op === "opened") {
          resolve(
            new Recorder(
              worker,
              run.runId,
              opts.batchRows ?? DEFAULT_BATCH_ROWS,
              opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
            ),
          );
        } else if (e.data.op === "error") {
          worker.terminate();
          reject(new Error(e.data.message));
        }
      };
      worker.postMessage(
        {
          op: "open",
          path,
          run,
          memoryLimitMb: opts.memoryLimitMb ?? 128,
          allowForeignTables: opts.allowForeignTables ?? false,
          liveSnapshotMs: opts.liveSnapshotMs ?? 0,
        } satisfies ToWorker,
      );
    });
  }

  /**
   * Opens a channel for another thread (a sender worker of a spread run) to record rows of
   * this run: transfer the port and call {@linkcode RecorderProducer.attach} there. The
   * owner's {@linkcode finish} must wait until every producer has detached.
   */
  attachProducer(): MessagePort {
    this.assertOpen();
    const ch = new MessageChannel();
    this.worker.postMessage(
      { op: "attach", port: ch.port1 } satisfies ToWorker,
      [ch.port1],
    );
    return ch.port2;
  }

  /** Stores the backend's self-description with the run. */
  setBackendInfo(info: unknown): void {
    this.assertOpen();
    this.worker.postMessage({ op: "backendInfo", info } satisfies ToWorker);
  }

  /**
   * Commits everything buffered, marks the run `status` (or `failed` if writing failed),
   * releases the database and stops the worker. Rejects with the write error, if any.
   */
  async finish(
    status: Exclude<RunStatus, "running">,
    reason?: string,
  ): Promise<RecorderStats> {
    this.assertOpen();
    this.closeRows();
    try {
      return await this.end({ op: "finish", status, reason });
    } finally {
      this.worker.terminate();
    }
  }

  /**
   * Ends the run now, whatever is still running (a second Ctrl-C): commits what is buffered and
   * marks the run `status`, without waiting for requests in flight (their rows stay
   * `in_flight`). Resolves once the mark is committed, or after `timeoutMs` (default 5,000)
   * if the database does not answer; never rejects. A no-op once the recorder has finished.
   */
  async abandon(
    status: Exclude<RunStatus, "running">,
    reason: string,
    timeoutMs = 5_000,
  ): Promise<void> {
    if (this.ended) return;
    this.abandoned = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.finish(status, reason).catch(() => {}),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}

/**
 * Another thread's rows of a run (a sender worker of a spread run), on a port from
 * {@linkcode Recorder.attachProducer}: they go straight to the recorder's database thread,
 * not through the owner's. End it with {@linkcode detach}; the owner ends the run.
 */
export class RecorderProducer extends RecorderRows {
  private constructor(
    /** The attached port to the recorder's database thread. */
    private readonly port: MessagePort,
    runId: string,
    batchRows: number,
    flushIntervalMs: number,
  ) {
    super(
      (m, t) => port.postMessage(m, t ?? []),
      runId,
      batchRows,
      flushIntervalMs,
    );
    port.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
  }

  /** The producer of run `runId` on `port` (transferred from the owner's thread). */
  static attach(
    port: MessagePort,
    runId: string,
    opts: Pick<RecorderOptions, "batchRows" | "flushIntervalMs"> = {},
  ): RecorderProducer {
    return new RecorderProducer(
      port,
      runId,
      opts.batchRows ?? DEFAULT_BATCH_ROWS,
      opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    );
  }

  /** The producer's end: commits everything it buffered, then closes its port. */
  async detach(): Promise<RecorderStats> {
    this.assertOpen();
    this.closeRows();
    try {
      return await this.end({ op: "detach" });
    } finally {
      this.port.onmessage = null;
      this.port.close();
    }
  }
}
