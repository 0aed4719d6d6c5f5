/**
 * Messages between the {@linkcode Recorder} (measuring thread) and its worker (database thread).
 *
 * @module
 */
import type { NewRun, RunStatus } from "./store.ts";
import type { RequestRow } from "./recorder_options.ts";
import type { EngineStepRow, EngineTokenRow } from "../adapters/backend.ts";

/** Token channel codes in {@linkcode TokenBatch.channel}. */
export const CHANNELS = ["content", "reasoning", "tool"] as const;

/**
 * A batch of `token_events` rows as columns; typed arrays are transferred, not copied.
 * Request ids travel once, as `newReqIds`, and rows refer to them by index.
 */
export interface TokenBatch {
  n: number;
  /** Index of the row's request id, in the order ids were first seen in this run. */
  reqIdx: Int32Array;
  seq: Int32Array;
  tNs: BigInt64Array;
  nTokens: Int32Array;
  /** Index into {@linkcode CHANNELS}. */
  channel: Uint8Array;
}

/**
 * Measuring thread -> worker: from the owner on the worker itself, and `batch`, `engine`,
 * `detach` from producers on attached ports (request indices are per producer).
 */
export type ToWorker =
  | {
    op: "open";
    path: string;
    run: NewRun;
    memoryLimitMb: number;
    /** Open a file with tables tokentrace does not own. */
    allowForeignTables?: boolean;
    /** Publish `<db>.live` this often (ms); absent or 0: not at all. */
    liveSnapshotMs?: number;
    /** Nice value of the database thread; default 10. */
    niceness?: number;
  }
  | {
    op: "batch";
    /** Request ids first seen since the previous batch; the first gets index `firstReqIdx`. */
    newReqIds: string[];
    firstReqIdx: number;
    tokens: TokenBatch | null;
    /** Rows of requests just sent (status `in_flight`), inserted before the tokens. */
    sent: RequestRow[];
    /** Final rows of requests that ended, replacing their in-flight rows. */
    requests: RequestRow[];
  }
  | { op: "backendInfo"; info: unknown }
  // Built-in engine rows (engine_steps, engine_tokens); the worker does not acknowledge them.
  | { op: "engine"; steps: EngineStepRow[]; tokens: EngineTokenRow[] }
  | { op: "finish"; status: Exclude<RunStatus, "running">; reason?: string }
  /** Owner only: another thread (a sender worker) will post batches on `port`. */
  | { op: "attach"; port: MessagePort }
  /** On an attached port: the producer is done; everything it posted is committed first. */
  | { op: "detach" };

/** Worker -> measuring thread. */
export type FromWorker =
  | { op: "opened" }
  /** `flushes` counts this producer's batches; the row counts are the run's. */
  | { op: "flushed"; tokenRows: number; requestRows: number; flushes: number }
  | { op: "detached" }
  | { op: "finished"; tokenRows: number; requestRows: number; flushes: number }
  | { op: "error"; message: string };

/** An empty batch with room for `capacity` rows. */
export function newBatch(capacity: number): TokenBatch {
  return {
    n: 0,
    reqIdx: new Int32Array(capacity),
    seq: new Int32Array(capacity),
    tNs: new BigInt64Array(capacity),
    nTokens: new Int32Array(capacity),
    channel: new Uint8Array(capacity),
  };
}

/** A batch whose arrays hold exactly its rows (so only those bytes are transferred). */
export function trim(b: TokenBatch): TokenBatch {
  if (b.n === b.seq.length) return b;
  return {
    n: b.n,
    reqIdx: b.reqIdx.slice(0, b.n),
    seq: b.seq.slice(0, b.n),
    tNs: b.tNs.slice(0, b.n),
    nTokens: b.nTokens.slice(0, b.n),
    channel: b.channel.slice(0, b.n),
  };
}
