/**
 * The contract between {@linkcode readTrace} and the format readers in `formats/`: the options a
 * reader honours and what it returns.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** The DuckDB connection a reader runs its queries on (DuckDB's `DuckDBConnection`). */
export type TraceConnection = DuckDBConnection;
import type { TraceRequest } from "../base/request.ts";
import {
  type BadRowFinding,
  type BadRowPolicy,
  settleBadRows,
  type SkippedRows,
} from "./bad_rows.ts";
import type { BuiltRequests } from "./_build.ts";

/** A time unit of a generic trace's time column. */
export type TimeUnit = "s" | "ms" | "us" | "ns" | "datetime";

/** The time units, for flag validation. */
export const TIME_UNITS: readonly TimeUnit[] = [
  "s",
  "ms",
  "us",
  "ns",
  "datetime",
];

/** Which columns (CSV/Parquet) or keys (JSONL) of a generic trace hold what. */
export interface ColumnMapping {
  /** Arrival time; absent: an untimed trace (every request at 0). */
  time?: string;
  /** Input (prompt) length in tokens. */
  input: string;
  /** Output length in tokens. */
  output: string;
  /** Session (conversation) id. */
  session?: string;
  /** Block hash ids (a list column or JSON array). */
  hashIds?: string;
}

/** Options every reader receives (resolved, with defaults filled in). */
export interface ReaderOptions {
  /** What to do with a bad row. Default `error`. */
  onBadRow: BadRowPolicy;
  /** Sort by time instead of rejecting times that go back. Default false. */
  sortByTime: boolean;
  /** Requests the source marks failed: `drop` (default) or `keep` (flagged `sourceFailed`). */
  sourceFailures: "drop" | "keep";
  /** Tokens per hash block. Default 512 (Mooncake FAST'25). */
  blockSize: number;
  /** BurstGPT: keep only these `Model` values. Default: all. */
  models?: string[];
  /** BurstGPT: keep only these `Log Type` values. Default: all. */
  logTypes?: string[];
  /** Generic formats: the column mapping. */
  columns?: ColumnMapping;
  /** Generic formats: the unit of the time column. Default `s`. */
  timeUnit?: TimeUnit;
  /** ShareGPT: `first-turn` (default; first human/gpt pair) or `sessions` (every turn). */
  sharegpt: "first-turn" | "sessions";
  /** Output tokens for formats that have none (vLLM custom without `output_tokens`). Default 256. */
  defaultOutputTokens: number;
  /** Counts the tokens of a text (a tokenizer); absent: lengths of text are estimated. */
  countTokens?: (text: string) => number;
}

/** What a reader found in one file. */
export interface ReaderResult {
  /** Requests in time order, arrivals rebased to the first one. */
  requests: TraceRequest[];
  /** Records in the file (data rows or non-empty lines), bad ones included. */
  records: number;
  /** Bad rows left out under `--on-bad-row skip`. */
  skipped: SkippedRows;
  /** Records removed by a filter option (`models`, `logTypes`, short conversations). */
  filtered: number;
  /** Records the source marks failed. */
  sourceFailures: number;
  /** False when the trace has no arrival times (all requests at 0). */
  timed: boolean;
  /** `counted` when every length comes from the file or a tokenizer, else `approximate`. */
  lengths: "counted" | "approximate";
  /** Format-specific facts for `inspect` (CSV header, JSON keys, raw first/last times). */
  details: Record<string, unknown>;
}

/** A reader turns one file into requests. */
export type TraceReader = (
  conn: TraceConnection,
  path: string,
  opts: ReaderOptions,
) => Promise<ReaderResult>;

/** The default reader options. */
export const DEFAULT_READER_OPTIONS: ReaderOptions = {
  onBadRow: "error",
  sortByTime: false,
  sourceFailures: "drop",
  blockSize: 512,
  sharegpt: "first-turn",
  defaultOutputTokens: 256,
};

/** Settles the findings of a read and assembles the result. */
export async function finishRead(
  path: string,
  opts: ReaderOptions,
  built: BuiltRequests,
  more: {
    findings?: BadRowFinding[];
    records: number;
    locate: (recs: number[]) => Promise<Map<number, number>>;
    recordsHaveLines?: boolean;
    timed?: boolean;
    lengths?: "counted" | "approximate";
    details?: Record<string, unknown>;
  },
): Promise<ReaderResult> {
  const skipped = await settleBadRows(
    path,
    opts.onBadRow,
    [...(more.findings ?? []), ...built.findings],
    more.locate,
    more.recordsHaveLines ?? true,
  );
  return {
    requests: built.requests,
    records: more.records,
    skipped,
    filtered: built.filtered,
    sourceFailures: built.sourceFailures,
    timed: more.timed ?? true,
    lengths: more.lengths ?? "counted",
    details: more.details ?? {},
  };
}

/**
 * Tokens of a text: counted by `opts.countTokens`, else estimated as one token per 4 characters
 * (the usual English average), flagged approximate.
 *
 * @example
 * ```ts
 * import { DEFAULT_READER_OPTIONS, textTokens } from "./reader.ts";
 * console.log(textTokens(DEFAULT_READER_OPTIONS, "twelve chars")); // { n: 3, approximate: true }
 * ```
 */
export function textTokens(
  opts: Pick<ReaderOptions, "countTokens">,
  text: string,
): { n: number; approximate: boolean } {
  if (opts.countTokens) {
    return { n: opts.countTokens(text), approximate: false };
  }
  return { n: Math.ceil(text.length / 4), approximate: true };
}
