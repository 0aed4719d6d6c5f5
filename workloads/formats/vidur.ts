/**
 * Reader for Vidur trace CSVs (`arrived_at,num_prefill_tokens,num_decode_tokens`; `arrived_at`
 * in seconds), the request traces of the Vidur simulator.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { readNumericColumns } from "./_columns.ts";
import { buildRequests } from "./_build.ts";
import {
  csvLocator,
  csvRejectFindings,
  csvSource,
  readCsvHeader,
  requireColumns,
} from "./_csv.ts";
import { finishRead, type ReaderOptions, type ReaderResult } from "./reader.ts";

/** The columns a Vidur trace has. */
export const VIDUR_COLUMNS = [
  "arrived_at",
  "num_prefill_tokens",
  "num_decode_tokens",
] as const;

/**
 * Reads a Vidur trace CSV.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readVidur } from "./vidur.ts";
 * const p = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(p, "arrived_at,num_prefill_tokens,num_decode_tokens\n0.5,100,10\n1.25,80,4\n");
 * const r = await withDuckDB((c) => readVidur(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests.map((q) => q.arrivalMs)); // [ 0, 750 ]
 * ```
 */
export async function readVidur(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const header = await readCsvHeader(path);
  requireColumns(path, header, VIDUR_COLUMNS);
  const src = csvSource(path, header, {
    arrived_at: "DOUBLE",
    num_prefill_tokens: "DOUBLE",
    num_decode_tokens: "DOUBLE",
  });
  const cols = await readNumericColumns(
    conn,
    `select (arrived_at * 1000)::double as t,
            num_prefill_tokens::double as i,
            num_decode_tokens::double as o from ${src.sql}`,
  );
  const rejects = await csvRejectFindings(
    conn,
    src,
    (col) =>
      col === "arrived_at" ? "seconds >= 0" : "an integer token count >= 0",
  );
  const c = cols.columns;
  const built = await buildRequests(
    {
      rows: cols.rows,
      timeMs: c.t,
      input: c.i,
      output: c.o,
      missing: {
        time: cols.missing.t,
        input: cols.missing.i,
        output: cols.missing.o,
      },
    },
    {
      time: "arrived_at",
      input: "num_prefill_tokens",
      output: "num_decode_tokens",
      timeExpected: "seconds >= 0",
      timeUnitMs: 1000,
    },
    opts,
  );
  return finishRead(path, opts, built, {
    findings: rejects,
    records: cols.rows + rejects.length,
    locate: csvLocator(path, rejects),
    details: { header },
  });
}
