/**
 * Reader for Mooncake JSONL traces: `{"timestamp": ms, "input_length", "output_length", "hash_ids"}`.
 *
 * `hash_ids` are prefix-block ids (512 tokens per block in the FAST'25 release): equal ids mean
 * identical prompt blocks, which prompt synthesis preserves.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { TraceRequest } from "../request.ts";
import { sqlString } from "../_duckdb.ts";
import { firstBadJsonLine, lineOfRecord } from "../_lines.ts";
import { TraceError } from "../trace_error.ts";

/**
 * Reads a Mooncake JSONL trace into requests sorted by arrival (ties keep file order).
 *
 * @example
 * ```ts
 * import { withDuckDB } from "../_duckdb.ts";
 * import { readMooncake } from "./mooncake.ts";
 * const p = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(p, '{"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]}\n');
 * const reqs = await withDuckDB((c) => readMooncake(c, p));
 * console.log(reqs[0].prefixBlocks); // [0, 1]
 * ```
 */
export async function readMooncake(
  conn: DuckDBConnection,
  path: string,
): Promise<TraceRequest[]> {
  try {
    await conn.run(`create or replace temp table mooncake_raw as
      select row_number() over () - 1 as rec, * from read_json(${
      sqlString(path)
    },
        format = 'newline_delimited',
        columns = {'timestamp': 'DOUBLE', 'input_length': 'BIGINT', 'output_length': 'BIGINT',
                   'hash_ids': 'BIGINT[]'})`);
  } catch (e) {
    const bad = await firstBadJsonLine(path);
    if (bad) {
      throw new TraceError(
        { path, line: bad.line },
        `${bad.reason} in ${JSON.stringify(bad.text.slice(0, 120))}`,
      );
    }
    throw new TraceError(
      { path },
      `cannot read as Mooncake JSONL: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const bad = (await conn.runAndReadAll(
    `select rec, timestamp, input_length, output_length,
       case when timestamp is null or timestamp < 0 or isnan(timestamp) then 'timestamp'
            when input_length is null or input_length < 0 then 'input_length'
            when output_length is null or output_length < 0 then 'output_length' end as field
     from mooncake_raw where field is not null order by rec limit 1`,
  )).getRowObjectsJson();
  if (bad.length > 0) {
    const b = bad[0];
    const field = String(b.field);
    const line = await lineOfRecord(path, Number(b.rec));
    const value = b[field] ?? "nothing (missing)";
    const want = field === "timestamp"
      ? "milliseconds >= 0"
      : "an integer token count >= 0";
    throw new TraceError(
      { path, line, field },
      `expected ${want}, got ${value}`,
    );
  }
  const rows = (await conn.runAndReadAll(
    `select rec, timestamp - min(timestamp) over () as rel_ms, input_length, output_length,
            hash_ids
     from mooncake_raw order by timestamp, rec`,
  )).getRowObjects();
  return rows.map((r) => {
    const req: TraceRequest = {
      id: String(r.rec),
      traceIndex: Number(r.rec),
      arrivalMs: Number(r.rel_ms),
      inputTokens: Number(r.input_length),
      outputTokens: Number(r.output_length),
    };
    const h = r.hash_ids as { items: unknown[] } | null;
    if (h && h.items.length > 0) req.prefixBlocks = h.items.map(Number);
    return req;
  });
}
