/**
 * Why requests failed: the error kinds, HTTP statuses and most frequent messages of a run, read
 * from view `run_errors` (reports/sql/run_errors.sql), for the terminal summary and reports.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { ReportSource } from "./snapshot.ts";

/** One key of a breakdown: an error kind, `HTTP 400`, or a message. */
export interface FailureCount {
  /**
   * The error kind (`http`, `network`, `timeout_connect`, ...), `HTTP <code>` or `no HTTP status`,
   * or a message (first 200 characters).
   */
  key: string;
  /** Failed requests with this key. */
  n: number;
  /** Fraction 0..1 of the run's failed requests. */
  share: number;
}

/** The failed requests of a run (status error or timeout, inside and outside the window). */
export interface FailureSummary {
  /** Failed requests (status error or timeout). */
  failed: number;
  /** Failed requests by error kind, most frequent first. */
  kinds: FailureCount[];
  /** Failed requests by HTTP status (`HTTP <code>` or `no HTTP status`), most frequent first. */
  httpStatuses: FailureCount[];
  /** The most frequent messages, at most `topMessages` of them. */
  messages: FailureCount[];
  /** Distinct messages in all (more than `messages.length` when some were left out). */
  distinctMessages: number;
}

/** A run without failures. */
export const NO_FAILURES: FailureSummary = {
  failed: 0,
  kinds: [],
  httpStatuses: [],
  messages: [],
  distinctMessages: 0,
};

/**
 * Reads the failure breakdown of `runId`, with its `topMessages` (default 3) commonest messages.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { readFailures } from "./failures.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * await installViews(store);
 * console.log((await readFailures(store, "r1")).failed); // 0
 * store.close();
 * ```
 */
export async function readFailures(
  source: ReportSource,
  runId: string,
  topMessages = 3,
): Promise<FailureSummary> {
  const rows = await source.query(
    `select breakdown, rank, key, n, share_of_failed from run_errors where run_id = $1
     order by breakdown_order, rank`,
    [runId],
  );
  const of = (breakdown: string) =>
    rows.filter((r) => r.breakdown === breakdown).map((r): FailureCount => ({
      key: String(r.key),
      n: num(r.n),
      share: num(r.share_of_failed),
    }));
  const kinds = of("error_kind");
  const messages = of("message");
  return {
    failed: kinds.reduce((sum, k) => sum + k.n, 0),
    kinds,
    httpStatuses: of("http_status"),
    messages: messages.slice(0, topMessages),
    distinctMessages: messages.length,
  };
}

function num(v: DuckDBValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}
