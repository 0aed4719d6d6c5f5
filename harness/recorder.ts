/**
 * The recorder: writes a run's request and token rows to the result store from a worker
 * thread, so the thread that reads streams and takes timestamps never waits on the database.
 *
 * The measuring thread buffers rows as columns and posts a batch every `batchRows` rows or
 * `flushIntervalMs` milliseconds (typed arrays are transferred, not copied). The worker owns
 * the database for the whole run, appends each batch and commits it at once, so a crash loses
 * at most the rows buffered or in transit. Measured: database writes on the measuring thread
 * delayed token reads by 2-20 ms (docs/perf.md); through the worker they cost a postMessage.
 *
 * @module
 */
import type {
  EngineStepRow,
  EngineTokenRow,
  TokenChannel,
} from "../adapters/backend.ts";
import type { NewRun, RunStatus } from "./store.ts";
import {
  CHANNELS,
  type FromWorker,
  newBatch,
  type TokenBatch,
  type ToWorker,
  trim,
} from "./_recorder_protocol.ts";

export {
  DEFAULT_BATCH_ROWS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_LIVE_SNAPSHOT_MS,
  type RecorderOptions,
  type RecorderStats,
  type RequestRow,
} from "./recorder_options.ts";
import {
  DEFAULT_BATCH_ROWS,
  DEFAULT_FLUSH_INTERVAL_MS,
  type RecorderOptions,
  type RecorderStats,
  type RequestRow,
} from "./recorder_options.ts";

const CHANNEL_CODE: Record<TokenChannel, number> = {
  content: 0,
  reasoning: 1,
  tool: 2,
};
if (CHANNELS.some((c, i) => CHANNEL_CODE[c] !== i)) {
  throw new Error("Channel codes out of sync");
}

/**
 * Records one run into the result database at `path`, which it holds until {@linkcode finish}.
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
export class Recorder {
  private batch: TokenBatch;
  private requests: RequestRow[] = [];
  /** In-flight rows of requests sent since the last post. */
  private sent: RequestRow[] = [];
  /** Request id -> index in the order first seen; ids are sent to the worker once. */
  private readonly reqIndex = new Map<string, number>();
  private newReqIds: string[] = [];
  private firstNewReqIdx = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private finished = false;
  /** Ended by {@linkcode abandon}: rows still coming from requests in flight are dropped. */
  private abandoned = false;
  private error: string | undefined;
  private posted = 0;
  private readonly flushWaiters: {
    target: number;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private finishWaiter: ((m: FromWorker) => void) | undefined;
  private detachWaiter: ((m: FromWorker) => void) | undefined;
  /** Rows committed by the worker so far. */
  readonly stats: RecorderStats = { tokenRows: 0, requestRows: 0, flushes: 0 };
  /** Called once if the worker fails to write; rows after that are not recorded. */
  onError: ((message: string) => void) | undefined;

  private constructor(
    /** The recorder's worker (the owner), or a port attached to it (a producer). */
    private readonly worker: Worker | MessagePort,
    readonly runId: string,
    private readonly batchRows: number,
    flushIntervalMs: number,
  ) {
    this.batch = newBatch(batchRows);
    this.timer = setInterval(() => this.post(), flushIntervalMs);
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
  }

  /**
   * Opens a channel for another thread (a sender worker of a spread run) to record rows of
   * this run: transfer the port and call {@linkcode Recorder.attach} there. The owner's
   * {@linkcode finish} must wait until every producer has {@linkcode detach}ed.
   */
  attachProducer(): MessagePort {
    this.assertOpen();
    if (!(this.worker instanceof Worker)) {
      throw new Error("Only the recorder's owner can attach producers");
    }
    const ch = new MessageChannel();
    this.worker.postMessage(
      { op: "attach", port: ch.port1 } satisfies ToWorker,
      [ch.port1],
    );
    return ch.port2;
  }

  /**
   * A producer's recorder on a port from {@linkcode attachProducer}: rows go straight to the
   * recorder's worker (not through the owner's thread). End it with {@linkcode detach}.
   */
  static attach(
    port: MessagePort,
    runId: string,
    opts: Pick<RecorderOptions, "batchRows" | "flushIntervalMs"> = {},
  ): Recorder {
    return new Recorder(
      port,
      runId,
      opts.batchRows ?? DEFAULT_BATCH_ROWS,
      opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    );
  }

  /** A producer's end: commits everything it buffered, then closes its port. */
  async detach(): Promise<RecorderStats> {
    this.assertOpen();
    const port = this.worker;
    if (port instanceof Worker) {
      throw new Error("The recorder's owner ends with finish(), not detach()");
    }
    clearInterval(this.timer);
    clearInterval(this.engineTimer);
    this.postEngine();
    this.post();
    this.finished = true;
    const reply = await new Promise<FromWorker>((resolve) => {
      this.detachWaiter = resolve;
      port.postMessage({ op: "detach" } satisfies ToWorker);
    });
    port.onmessage = null;
    port.close();
    if (reply.op === "error") throw new Error(reply.message);
    return { ...this.stats };
  }

  /** Opens (creating and migrating) the database in a worker and inserts the `runs` row. */
  static start(
    path: string,
    run: NewRun,
    opts: RecorderOptions = {},
  ): Promise<Recorder> {
    const worker = new Worker(
      new URL("./_recorder_worker.ts", import.meta.url),
      {
        type: "module",
      },
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

  /** Buffers one `token_events` row. */
  token(
    reqId: string,
    seq: number,
    tNs: bigint,
    nTokens: number,
    channel: TokenChannel,
  ): void {
    if (this.abandoned) return;
    this.assertOpen();
    let idx = this.reqIndex.get(reqId);
    if (idx === undefined) {
      idx = this.reqIndex.size;
      this.reqIndex.set(reqId, idx);
      this.newReqIds.push(reqId);
    }
    const b = this.batch;
    const i = b.n++;
    b.reqIdx[i] = idx;
    b.seq[i] = seq;
    b.tNs[i] = tNs;
    b.nTokens[i] = nTokens;
    b.channel[i] = CHANNEL_CODE[channel];
    if (b.n === this.batchRows) this.post();
  }

  /**
   * Buffers the `requests` row of a request just sent (status `in_flight`). It is committed
   * with, or before, the request's first token rows, so no token row is ever without it.
   */
  requestSent(r: RequestRow): void {
    if (this.abandoned) return;
    this.assertOpen();
    this.sent.push({ ...r, status: "in_flight" });
  }

  /** Buffers the final `requests` row of a request that ended (replacing its in-flight row). */
  request(r: RequestRow): void {
    if (this.abandoned) return;
    this.assertOpen();
    this.requests.push(r);
  }

  /** Stores the backend's self-description with the run. */
  setBackendInfo(info: unknown): void {
    this.assertOpen();
    this.worker.postMessage({ op: "backendInfo", info } satisfies ToWorker);
  }

  /** Whether {@linkcode finish}, {@linkcode detach} or {@linkcode abandon} ended the recorder. */
  get ended(): boolean {
    return this.finished;
  }

  /** Batches posted to the worker and not yet committed. */
  get backlog(): number {
    return this.posted - this.stats.flushes;
  }

  /**
   * Resolves once at most `maxBatches` batches wait in the worker: a producer that can outrun
   * the database (a synthetic load, a benchmark) awaits this to keep memory bounded.
   */
  async waitForBacklog(maxBatches = 4): Promise<void> {
    while (this.backlog > maxBatches && !this.error) {
      await new Promise<void>((resolve, reject) =>
        this.flushWaiters.push({
          target: this.stats.flushes + 1,
          resolve,
          reject,
        })
      );
    }
  }

  /** Posts what is buffered and resolves once the worker has committed it. */
  flush(): Promise<void> {
    this.assertOpen();
    this.postEngine();
    return new Promise((resolve, reject) => {
      if (this.error) return reject(new Error(this.error));
      this.post(true);
      this.flushWaiters.push({ target: this.posted, resolve, reject });
    });
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
    const worker = this.worker;
    if (!(worker instanceof Worker)) {
      throw new Error("An attached producer ends with detach(), not finish()");
    }
    clearInterval(this.timer);
    this.postEngine();
    clearInterval(this.engineTimer);
    this.post();
    this.finished = true;
    const reply = await new Promise<FromWorker>((resolve) => {
      this.finishWaiter = resolve;
      worker.postMessage({ op: "finish", status, reason } satisfies ToWorker);
    });
    worker.terminate();
    if (reply.op === "error") throw new Error(reply.message);
    return { ...this.stats };
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
    if (this.finished || !(this.worker instanceof Worker)) return;
    this.abandoned = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.finish(status, reason).catch(() => {}),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  // ---- Engine records (built-in engine only): engine_steps and engine_tokens rows ----
  // Buffered apart from the token path and posted as their own messages, in order with it.

  private engineSteps: EngineStepRow[] = [];
  private engineTokens: EngineTokenRow[] = [];
  private engineTimer: ReturnType<typeof setInterval> | undefined;

  /** Buffers one `engine_steps` row (the engine's step sink). */
  engineStep(row: EngineStepRow): void {
    if (this.abandoned) return;
    this.assertOpen();
    this.engineSteps.push(row);
    this.engineRowAdded();
  }

  /** Buffers one `engine_tokens` row (the engine's token sink). */
  engineToken(row: EngineTokenRow): void {
    if (this.abandoned) return;
    this.assertOpen();
    this.engineTokens.push(row);
    this.engineRowAdded();
  }

  /** Posts the engine rows at 4,096 buffered, or from a 250 ms timer. */
  private engineRowAdded(): void {
    this.engineTimer ??= setInterval(() => this.postEngine(), 250);
    if (this.engineSteps.length + this.engineTokens.length >= 4096) {
      this.postEngine();
    }
  }

  /** Sends the buffered engine rows to the database thread. */
  private postEngine(): void {
    if (this.engineSteps.length + this.engineTokens.length === 0) return;
    this.worker.postMessage(
      {
        op: "engine",
        steps: this.engineSteps,
        tokens: this.engineTokens,
      } satisfies ToWorker,
    );
    this.engineSteps = [];
    this.engineTokens = [];
  }

  /** Sends the token batch to the database thread when it is full (or `force`). */
  private post(force = false): void {
    const b = this.batch;
    if (
      b.n === 0 && this.requests.length === 0 && this.sent.length === 0 &&
      !force
    ) return;
    const tokens = b.n > 0 ? trim(b) : null;
    const msg: ToWorker = {
      op: "batch",
      newReqIds: this.newReqIds,
      firstReqIdx: this.firstNewReqIdx,
      tokens,
      sent: this.sent,
      requests: this.requests,
    };
    const transfer = tokens
      ? [
        tokens.reqIdx.buffer,
        tokens.seq.buffer,
        tokens.tNs.buffer,
        tokens.nTokens.buffer,
        tokens.channel.buffer,
      ] as ArrayBuffer[]
      : [];
    this.worker.postMessage(msg, transfer);
    this.posted++;
    // A part-full batch went as a copy (trim): keep its arrays rather than allocate and zero
    // `batchRows` rows again on the measuring thread every flush interval.
    if (tokens === null || tokens !== b) b.n = 0;
    else this.batch = newBatch(this.batchRows);
    this.requests = [];
    this.sent = [];
    this.firstNewReqIdx += this.newReqIds.length;
    this.newReqIds = [];
  }

  /** Handles the database thread's answers (flushes, failures, the end). */
  private onMessage(m: FromWorker): void {
    if (m.op === "flushed") {
      this.stats.tokenRows = m.tokenRows;
      this.stats.requestRows = m.requestRows;
      this.stats.flushes = m.flushes;
      while (
        this.flushWaiters.length > 0 && this.flushWaiters[0].target <= m.flushes
      ) {
        this.flushWaiters.shift()!.resolve();
      }
    } else if (m.op === "finished") {
      Object.assign(this.stats, {
        tokenRows: m.tokenRows,
        requestRows: m.requestRows,
        flushes: m.flushes,
      });
      this.finishWaiter?.(m);
    } else if (m.op === "detached") {
      this.detachWaiter?.(m);
    } else if (m.op === "error") {
      if (this.finishWaiter) return this.finishWaiter(m);
      if (this.detachWaiter) return this.detachWaiter(m);
      if (!this.error) {
        this.error = `Recording run ${this.runId} failed: ${m.message}`;
        this.onError?.(this.error);
      }
      // Nothing more will be committed: release everyone waiting for a flush.
      for (const w of this.flushWaiters.splice(0)) {
        w.reject(new Error(this.error));
      }
    }
  }

  /** Throws when the recorder has finished: rows after the end would be lost. */
  private assertOpen(): void {
    if (this.finished) {
      throw new Error(
        `Recorder of run ${this.runId} has finished: no more rows can be written`,
      );
    }
  }
}
