/**
 * The recorder's column tables: for each table the recorder appends to (`requests`,
 * `engine_steps`, `engine_tokens`), its columns in the schema's order, each with its DuckDB
 * type and the row field it is filled from. One table drives the appender
 * ({@linkcode appendRows}); a test asserts each against the migrated schema, so a column
 * added by a migration and not here (or out of order) fails there, not as shifted values.
 *
 * @module
 */
import type { DuckDBAppender } from "@duckdb/node-api";
import type { EngineStepRow, EngineTokenRow } from "../adapters/backend.ts";
import type { RequestRow } from "./recorder_options.ts";

/** The DuckDB types the recorder appends, as `information_schema.columns` names them. */
export type ColumnType = "VARCHAR" | "BIGINT" | "INTEGER" | "DOUBLE";

/** Where a column's value comes from: the run's id, or a field of the row. */
export const RUN_ID = Symbol("run id");

/** One column: its name in the schema, its type, and the row field (or the run's id) it holds. */
export type Column<R> = readonly [
  name: string,
  type: ColumnType,
  field: keyof R | typeof RUN_ID,
];

/** The `requests` table (schema version 10: 7 added the server timings, 4 released_ns and attempt). */
export const REQUEST_COLUMNS: readonly Column<RequestRow>[] = [
  ["run_id", "VARCHAR", RUN_ID],
  ["req_id", "VARCHAR", "reqId"],
  ["trace_index", "BIGINT", "traceIndex"],
  ["session_id", "VARCHAR", "sessionId"],
  ["turn", "INTEGER", "turn"],
  ["scheduled_ns", "BIGINT", "scheduledNs"],
  ["sent_ns", "BIGINT", "sentNs"],
  ["first_byte_ns", "BIGINT", "firstByteNs"],
  ["first_token_ns", "BIGINT", "firstTokenNs"],
  ["last_token_ns", "BIGINT", "lastTokenNs"],
  ["done_ns", "BIGINT", "doneNs"],
  ["input_tokens_planned", "INTEGER", "inputTokensPlanned"],
  ["output_tokens_planned", "INTEGER", "outputTokensPlanned"],
  ["prompt_tokens_reported", "INTEGER", "promptTokensReported"],
  ["completion_tokens_reported", "INTEGER", "completionTokensReported"],
  ["cached_tokens", "INTEGER", "cachedTokens"],
  ["output_chunks", "INTEGER", "outputChunks"],
  ["output_tokens_counted", "INTEGER", "outputTokensCounted"],
  ["status", "VARCHAR", "status"],
  ["http_status", "INTEGER", "httpStatus"],
  ["error_kind", "VARCHAR", "errorKind"],
  ["error", "VARCHAR", "error"],
  ["finish_reason", "VARCHAR", "finishReason"],
  ["released_ns", "BIGINT", "releasedNs"],
  ["attempt", "INTEGER", "attempt"],
  ["server_prompt_tokens", "INTEGER", "serverPromptTokens"],
  ["server_prompt_ms", "DOUBLE", "serverPromptMs"],
  ["server_predicted_tokens", "INTEGER", "serverPredictedTokens"],
  ["server_predicted_ms", "DOUBLE", "serverPredictedMs"],
];

/** The `engine_steps` table (schema version 3). */
export const ENGINE_STEP_COLUMNS: readonly Column<EngineStepRow>[] = [
  ["run_id", "VARCHAR", RUN_ID],
  ["step", "INTEGER", "step"],
  ["t_sched_ns", "BIGINT", "tSchedNs"],
  ["t_submit_ns", "BIGINT", "tSubmitNs"],
  ["t_gpu_start_ns", "BIGINT", "tGpuStartNs"],
  ["t_gpu_end_ns", "BIGINT", "tGpuEndNs"],
  ["t_readback_ns", "BIGINT", "tReadbackNs"],
  ["prefill_tokens", "INTEGER", "prefillTokens"],
  ["decode_tokens", "INTEGER", "decodeTokens"],
  ["num_seqs", "INTEGER", "numSeqs"],
  ["num_prefill_seqs", "INTEGER", "numPrefillSeqs"],
  ["sample_rows", "INTEGER", "sampleRows"],
  ["kv_blocks_used", "INTEGER", "kvBlocksUsed"],
  ["kv_blocks_total", "INTEGER", "kvBlocksTotal"],
  ["kv_blocks_cached", "INTEGER", "kvBlocksCached"],
  ["prefix_hit_tokens", "INTEGER", "prefixHitTokens"],
  ["preempted", "INTEGER", "preempted"],
  ["waiting", "INTEGER", "waiting"],
  ["running", "INTEGER", "running"],
  ["cpu_us", "DOUBLE", "cpuUs"],
  ["policy", "VARCHAR", "policy"],
  ["attention", "VARCHAR", "attention"],
];

/** The `engine_tokens` table (schema version 3). */
export const ENGINE_TOKEN_COLUMNS: readonly Column<EngineTokenRow>[] = [
  ["run_id", "VARCHAR", RUN_ID],
  ["req_id", "VARCHAR", "reqId"],
  ["token_index", "INTEGER", "tokenIndex"],
  ["step", "INTEGER", "step"],
  ["token_id", "INTEGER", "tokenId"],
  ["t_delivered_ns", "BIGINT", "tDeliveredNs"],
];

/**
 * Appends `rows` to `a` (an appender on the table `columns` describes), one value per column
 * in the table's order; an absent field is NULL. The caller flushes.
 */
export function appendRows<R>(
  a: DuckDBAppender,
  runId: string,
  columns: readonly Column<R>[],
  rows: Iterable<R>,
): void {
  for (const r of rows) {
    for (const [, type, field] of columns) {
      const v = field === RUN_ID ? runId : r[field];
      if (v === undefined || v === null) a.appendNull();
      else if (type === "VARCHAR") a.appendVarchar(String(v));
      else if (type === "BIGINT") a.appendBigInt(BigInt(v as bigint | number));
      else if (type === "INTEGER") a.appendInteger(v as number);
      else a.appendDouble(v as number);
    }
    a.endRow();
  }
}
