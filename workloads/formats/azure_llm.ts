/**
 * Reader for the Azure LLM inference traces (2023 and 2024): `TIMESTAMP,ContextTokens,GeneratedTokens`.
 *
 * Timestamps are wall-clock strings with up to 7 fractional digits (100 ns) and an optional
 * `+00:00` suffix. They are parsed to integer nanoseconds in SQL, by hand for the fraction,
 * because DuckDB's TIMESTAMP keeps only microseconds.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { TraceRequest } from "../request.ts";
import { sqlString } from "../_duckdb.ts";
import { lineOfRecord } from "../_lines.ts";
import { TraceError } from "../trace_error.ts";

/** The header an Azure LLM trace starts with. */
export const AZURE_LLM_COLUMNS = [
  "TIMESTAMP",
  "ContextTokens",
  "GeneratedTokens",
] as const;

const TS_PATTERN = String
  .raw`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?(\+00:00|Z)?$`;

/**
 * Reads an Azure LLM inference CSV into requests sorted by arrival (ties keep file order).
 *
 * @example
 * ```ts
 * import { withDuckDB } from "../_duckdb.ts";
 * import { readAzureLlm } from "./azure_llm.ts";
 * const p = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(p, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n");
 * const reqs = await withDuckDB((c) => readAzureLlm(c, p));
 * console.log(reqs[0].inputTokens); // 374
 * ```
 */
export async function readAzureLlm(
  conn: DuckDBConnection,
  path: string,
): Promise<TraceRequest[]> {
  const src = `read_csv(${
    sqlString(path)
  }, header = true, delim = ',', quote = '"',
    columns = {'TIMESTAMP': 'VARCHAR', 'ContextTokens': 'BIGINT', 'GeneratedTokens': 'BIGINT'},
    store_rejects = true, rejects_table = 'azure_rejects', rejects_scan = 'azure_reject_scans')`;
  await conn.run(`create or replace temp table azure_raw as
    select row_number() over () - 1 as rec, TIMESTAMP as ts, ContextTokens as input_tokens,
           GeneratedTokens as output_tokens from ${src}`);
  const rejects = (await conn.runAndReadAll(
    `select line, column_name, error_type, csv_line, error_message
     from azure_rejects order by line limit 1`,
  )).getRowObjectsJson();
  if (rejects.length > 0) {
    const r = rejects[0];
    const line = Number(r.line);
    if (r.error_type === "CAST") {
      const value = String(r.csv_line).split(",")[
        AZURE_LLM_COLUMNS.indexOf(r.column_name as "TIMESTAMP")
      ];
      throw new TraceError(
        { path, line, field: String(r.column_name) },
        `expected an integer token count >= 0, got "${value}"`,
      );
    }
    throw new TraceError(
      { path, line },
      `${r.error_message} in "${r.csv_line}" (expected ${
        AZURE_LLM_COLUMNS.join(",")
      })`,
    );
  }
  const bad = (await conn.runAndReadAll(
    `select rec, ts, input_tokens, output_tokens,
       case when ts is null or not regexp_matches(ts, ${sqlString(TS_PATTERN)})
              then 'TIMESTAMP'
            when input_tokens is null or input_tokens < 0 then 'ContextTokens'
            when output_tokens is null or output_tokens < 0 then 'GeneratedTokens' end as field
     from azure_raw where field is not null order by rec limit 1`,
  )).getRowObjectsJson();
  if (bad.length > 0) {
    const b = bad[0];
    const line = await lineOfRecord(path, Number(b.rec), { headerLines: 1 });
    const detail = b.field === "TIMESTAMP"
      ? `expected "YYYY-MM-DD HH:MM:SS[.fffffff]", got "${b.ts ?? ""}"`
      : `expected an integer token count >= 0, got ${
        b.field === "ContextTokens" ? b.input_tokens : b.output_tokens
      }`;
    throw new TraceError({ path, line, field: String(b.field) }, detail);
  }
  const rows = (await conn.runAndReadAll(
    `with parsed as (
       select rec, input_tokens, output_tokens,
         epoch_us(strptime(left(ts, 19), '%Y-%m-%d %H:%M:%S'))::hugeint * 1000
           + coalesce(rpad(regexp_extract(ts, '\\.(\\d+)', 1), 9, '0'), '0')::hugeint as t_ns
       from azure_raw)
     select rec, (t_ns - min(t_ns) over ())::bigint as rel_ns, input_tokens, output_tokens
     from parsed order by t_ns, rec`,
  )).getRowObjects();
  return rows.map((r) => ({
    id: String(r.rec),
    traceIndex: Number(r.rec),
    arrivalMs: Number(r.rel_ns as bigint) / 1e6,
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
  }));
}
