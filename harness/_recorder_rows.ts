/**
 * What both roles of the recorder share (recorder.ts): a thread's buffers of `token_events`,
 * `requests` and engine rows, posted to the recorder's database thread in batches (typed
 * arrays transferred, not copied) every `batchRows` rows or `flushIntervalMs` milliseconds,
 * and the answers that thread sends back (commits, failures, the end).
 *
 * @module
 */
import type {
  EngineStepRow,
  EngineTokenRow,
  TokenChannel,
} from "../adapters/backend.ts";
import {
  CHANNELS,
  type FromWorker,
  newBatch,
  type TokenBatch,
  type ToWorker,
  trim,
} from "./_recorder_protocol.ts";
import type { RecorderStats, RequestRow } from "./recorder_options.ts";
import type { RunStatus } from "./store.ts";

const CHANNEL_CODE: Record<TokenChannel, number> = {
  content: 0,
  reasoning: 1,
  tool: 2,
};
if (CHANNELS.some((c, i) => CHANNEL_CODE[c] !== i)) {
  throw new Error("Channel codes out of sync");
}

/**
 * One thread's side of a run's recording: the rows it buffers and posts to the database
 * thread. Its two roles are the owner (`Recorder`, which started that thread and ends the run)
 * and a producer (`RecorderProducer`, another thread's rows on an attached port).
 */
export abstract class RecorderRows {
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
  /** Set by the owner's `abandon`: rows still coming from requests in flight are dropped. */
  protected abandoned = false;
  private error: string | undefined;
  private posted = 0;
  private readonly flushWaiters: {
    target: number;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private endWaiter: ((m: FromWorker) => void) | undefined;
  /** Rows committed by the worker so far. */
  readonly stats: RecorderStats = { tokenRows: 0, requestRows: 0, flushes: 0 };
  /** Called once if the worker fails to write; rows after that are not recorded. */
  onError: ((message: string) => void) | undefined;

  /** Rows of run `runId`, posted with `send` (to the worker, or on an attached port). */
  protected constructor(
    private readonly send: (m: ToWorker, transfer?: Transferable[]) => void,
    /** The run the rows belong to. */
    readonly runId: string,
    private readonly batchRows: number,
    flushIntervalMs: number,
  ) {
    this.batch = newBatch(batchRows);
    this.timer = setInterval(() => this.post(), flushIntervalMs);
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

  /** Whether the recorder was ended (the owner's `finish` or `abandon`, a producer's `detach`). */
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

  /** Ends the buffers: posts what is left and refuses rows from now on. */
  protected closeRows(): void {
    clearInterval(this.timer);
    clearInterval(this.engineTimer);
    this.postEngine();
    this.post();
    this.finished = true;
  }

  /**
   * Posts the end (the owner's `finish`, a producer's `detach`) and resolves with the row
   * counts once the worker has committed everything before it; rejects with its write error.
   */
  protected async end(
    m:
      | { op: "finish"; status: Exclude<RunStatus, "running">; reason?: string }
      | { op: "detach" },
  ): Promise<RecorderStats> {
    const reply = await new Promise<FromWorker>((resolve) => {
      this.endWaiter = resolve;
      this.send(m);
    });
    if (reply.op === "error") throw new Error(reply.message);
    return { ...this.stats };
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
    this.send(
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
    this.send(msg, transfer);
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
  protected onMessage(data: unknown): void {
    const m = data as FromWorker;
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
      this.endWaiter?.(m);
    } else if (m.op === "detached") {
      this.endWaiter?.(m);
    } else if (m.op === "error") {
      if (this.endWaiter) return this.endWaiter(m);
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
  protected assertOpen(): void {
    if (this.finished) {
      throw new Error(
        `Recorder of run ${this.runId} has finished: no more rows can be written`,
      );
    }
  }
}
