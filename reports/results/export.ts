/**
 * Exports of one run for other tools: one CSV row per request with every metric
 * (`report --format csv`, macro `request_export`) and one Parquet row per token chunk for big
 * runs (`report --format parquet`, view `request_token_times`). DuckDB writes the files itself
 * (`COPY ... TO`), so a run of millions of tokens exports without passing through JavaScript.
 *
 * @module
 */
import type { FailurePolicy } from "./failure_policy.ts";
import { DEFAULT_FAILURE_POLICY } from "./failure_policy.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";

/** Options of {@linkcode exportRequestsCsv}. */
export interface RequestExportOptions {
  /** The SLO the `meets_slo` column judges by (none: every completed request meets it). */
  slo?: Slo;
  /** Which requests count as meeting the SLO. Default `DEFAULT_FAILURE_POLICY`. */
  failurePolicy?: FailurePolicy;
}

/**
 * Writes the requests of `runId` as CSV with a header to `path`; returns the rows written.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { exportRequestsCsv } from "./export.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * await installViews(store);
 * const out = await Deno.makeTempFile({ suffix: ".csv" });
 * console.log(await exportRequestsCsv(store, "r1", out)); // 0 (only the header)
 * store.close();
 * ```
 */
export async function exportRequestsCsv(
  source: ReportSource,
  runId: string,
  path: string,
  options: RequestExportOptions = {},
): Promise<number> {
  const s = options.slo ?? {};
  const bound = (v: number | undefined) =>
    v === undefined ? "null" : String(Number(v));
  // COPY takes no parameters: the run id and path are escaped literals, the bounds numbers.
  const sql = `select * from request_export(${bound(s.ttftMs)}, ${
    bound(s.tpotMs)
  }, ${bound(s.e2eMs)}, itl_ms_max := ${bound(s.itlMs)}, failure_policy := ${
    literal(options.failurePolicy ?? DEFAULT_FAILURE_POLICY)
  }) where run_id = ${literal(runId)} order by sent_ns nulls last, req_id`;
  return await copy(source, sql, path, "(format csv, header true)");
}

/**
 * Writes every token chunk of `runId` (view `request_token_times`) as Parquet to `path`;
 * returns the rows written.
 *
 * @example
 * ```ts ignore
 * await exportTokensParquet(snapshot, runId, "tokens.parquet");
 * ```
 */
export async function exportTokensParquet(
  source: ReportSource,
  runId: string,
  path: string,
): Promise<number> {
  return await copy(
    source,
    `select * from request_token_times where run_id = ${literal(runId)}
     order by req_id, seq`,
    path,
    "(format parquet, compression zstd)",
  );
}

async function copy(
  source: ReportSource,
  sql: string,
  path: string,
  format: string,
): Promise<number> {
  const rows = await source.query(
    `copy (${sql}) to ${literal(path)} ${format}`,
  );
  const n = rows[0]?.Count ?? rows[0]?.count;
  return n === undefined || n === null ? 0 : Number(n);
}

function literal(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}
