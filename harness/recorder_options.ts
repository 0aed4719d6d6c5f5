/**
 * The rows and options of the `Recorder` (harness/recorder.ts).
 *
 * @module
 */
/**
 * One `requests` row. Written twice: when the request is sent (`Recorder.requestSent`,
 * status `in_flight`) and when it ends (`Recorder.request`, its final status), so a
 * crash leaves every sent request visible.
 */
export interface RequestRow {
  /** The request id (the trace request id; a retry adds `~retry<attempt>`). */
  reqId: string;
  /** 0-based record index in the trace file. */
  traceIndex?: number;
  /** Multi-turn session id, when the trace has one. */
  sessionId?: string;
  /** 0-based turn within the session. */
  turn?: number;
  /** When the load plan meant to send it (run clock ns). */
  scheduledNs: bigint;
  /** Just before the request left (run clock ns). */
  sentNs?: bigint;
  /** The first response body byte arrived (run clock ns). */
  firstByteNs?: bigint;
  /** The first token-bearing chunk arrived (run clock ns). */
  firstTokenNs?: bigint;
  /** The last token-bearing chunk arrived (run clock ns). */
  lastTokenNs?: bigint;
  /** The stream ended normally (run clock ns); absent on error. */
  doneNs?: bigint;
  /** Prompt length the workload planned, in tokens. */
  inputTokensPlanned: number;
  /** Output length the workload planned (sent as `max_tokens`). */
  outputTokensPlanned: number;
  /** The server's `usage.prompt_tokens`. */
  promptTokensReported?: number;
  /** The server's `usage.completion_tokens`. */
  completionTokensReported?: number;
  /** Prompt tokens the server reported as served from its prefix cache. */
  cachedTokens?: number;
  /** Token-bearing chunks received. */
  outputChunks: number;
  /** Output tokens counted from the chunks. */
  outputTokensCounted: number;
  /** `in_flight` while sent and unanswered, then how it ended. */
  status: "in_flight" | "ok" | "error" | "timeout" | "cancelled";
  /** The HTTP status, when there was a response. */
  httpStatus?: number;
  /** What failed (`StreamEvent` error kinds; `timeout_<kind>` for timeouts). */
  errorKind?: string;
  /** The error message, for failed requests. */
  error?: string;
  /** The server's `finish_reason` (`length`, `stop`, ...). */
  finishReason?: string;
  /** When the pacer released the request (before waiting for a concurrency slot). */
  releasedNs?: bigint;
  /** 0 for the first try, 1.. for retries. */
  attempt?: number;
  /** The server's own timings (llama.cpp `timings`), when it sent them (schema version 7). */
  serverPromptTokens?: number;
  /** Server-side prompt processing time, in ms. */
  serverPromptMs?: number;
  /** Tokens the server says it generated. */
  serverPredictedTokens?: number;
  /** Server-side generation time, in ms. */
  serverPredictedMs?: number;
}

/** Options for `Recorder.start`. */
export interface RecorderOptions {
  /** Post a batch when this many token rows are buffered. Default {@linkcode DEFAULT_BATCH_ROWS}. */
  batchRows?: number;
  /**
   * Post buffered rows at least this often, in ms: with the commit that follows, the most
   * events a kill -9 can lose (measured in docs/perf.md, "Crash loss window"). Default
   * {@linkcode DEFAULT_FLUSH_INTERVAL_MS}.
   */
  flushIntervalMs?: number;
  /** Open a file holding tables tokentrace does not own (see `StoreOpenOptions`). */
  allowForeignTables?: boolean;
  /**
   * Publish a live snapshot of the run (`<db>.live`, see harness/_live_snapshot.ts) at most
   * this often, in ms, so `report` and `dashboard` can show the run while it records. Default
   * 0 (none); `executeRun` asks for {@linkcode DEFAULT_LIVE_SNAPSHOT_MS}.
   */
  liveSnapshotMs?: number;
  /**
   * DuckDB buffer pool of the recording thread, in MiB. Rows only pass through it, so a capped
   * pool keeps a long run's memory bounded. Measured over 10M events (docs/perf.md): RSS grew
   * ~600 MB with DuckDB's default (80% of RAM) while the stage table kept deleted rows; with
   * the stage recreated per batch, 64, 128 and 256 all grew 172-179 MB at the same speed.
   * Default 128.
   */
  memoryLimitMb?: number;
}

/**
 * Token rows per batch (a batch is also posted every `flushIntervalMs`, so this bounds only
 * fast producers). Measured on the 10M-event benchmark (docs/perf.md): 32,768-row batches
 * committed ~1.07M rows/s on the database thread, 131,072-row ones ~1.5M/s (fewer statements
 * per row); a batch in transit is ~3.3 MB.
 */
export const DEFAULT_BATCH_ROWS = 131_072;

/** How often a run's live snapshot is rewritten when `executeRun` records it, in ms. */
export const DEFAULT_LIVE_SNAPSHOT_MS = 2_000;

/** How often buffered rows are posted to the database thread by default, in ms. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;

/** Counters of what the recorder has committed. */
export interface RecorderStats {
  /** `token_events` rows written. */
  tokenRows: number;
  /** `requests` rows written (in-flight rows and their completions). */
  requestRows: number;
  /** Batches committed. */
  flushes: number;
}
