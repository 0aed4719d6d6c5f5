/**
 * Messages between the {@linkcode Recorder} (measuring thread) and its worker (database thread).
 *
 * @module
 */
import type { NewRun, RunStatus } from "./store.ts";
import type { RequestRow } from "./recorder.ts";

/** Token channel codes in {@linkcode TokenBatch.channel}. */
export const CHANNELS = ["content", "reasoning", "tool"] as const;

/** A batch of `token_events` rows as columns; typed arrays are transferred, not copied. */
export interface TokenBatch {
  n: number;
  reqId: string[];
  seq: Int32Array;
  tNs: BigInt64Array;
  nTokens: Int32Array;
  /** Index into {@linkcode CHANNELS}. */
  channel: Uint8Array;
}

/** Measuring thread -> worker. */
export type ToWorker =
  | { op: "open"; path: string; run: NewRun }
  | { op: "batch"; tokens: TokenBatch | null; requests: RequestRow[] }
  | { op: "backendInfo"; info: unknown }
  | { op: "finish"; status: Exclude<RunStatus, "running">; reason?: string };

/** Worker -> measuring thread. */
export type FromWorker =
  | { op: "opened" }
  | { op: "flushed"; tokenRows: number; requestRows: number; flushes: number }
  | { op: "finished"; tokenRows: number; requestRows: number; flushes: number }
  | { op: "error"; message: string };
