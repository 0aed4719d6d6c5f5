/**
 * Reader for the Azure LLM inference traces: 2023 and 2024 (`TIMESTAMP,ContextTokens,
 * GeneratedTokens`) and the 2025 multimodal one (`TIMESTAMP,NumImages,ContextTokens,
 * GeneratedTokens`), by column name, so column order does not matter.
 *
 * Timestamps are wall-clock strings with up to 7 fractional digits (100 ns) and an optional
 * `+00:00` suffix. They are parsed to integer nanoseconds in SQL, by hand for the fraction,
 * because DuckDB's TIMESTAMP keeps only microseconds; offsets from the first row are exact.
 * The file may be gzip-compressed (`.csv.gz`, as the 2025 trace is published).
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "./_duckdb.ts";
import { readNumericColumns } from "./_columns.ts";
import { buildRequests } from "./_build.ts";
import {
  csvLocator,
  csvRejectFindings,
  csvSource,
  firstLine,
  readCsvHeader,
  requireColumns,
  splitCsvLine,
} from "./_csv.ts";
import { finishRead, type ReaderOptions, type ReaderResult } from "./reader.ts";

/** The columns every Azure LLM trace has. */
export const AZURE_LLM_COLUMNS = [
  "TIMESTAMP",
  "ContextTokens",
  "GeneratedTokens",
] as const;

const TS_PATTERN = String
  .raw`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?(\+00:00|Z)?$`;

/** Nanoseconds since the epoch of a valid timestamp string, as a SQL expression of `ts`. */
const NS_SQL =
  `(epoch_us(try_strptime(left(ts, 19), '%Y-%m-%d %H:%M:%S'))::hugeint * 1000
  + rpad(regexp_extract(ts, '\\.(\\d+)', 1), 9, '0')::hugeint)`;

/**
 * Reads an Azure LLM (or LMM) inference CSV.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readAzureLlm } from "./azure_llm.ts";
 * const p = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(p, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n");
 * const r = await withDuckDB((c) => readAzureLlm(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests[0].inputTokens); // 374
 * ```
 */
export async function readAzureLlm(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const header = path.endsWith(".gz")
    ? await gzipHeader(path)
    : await readCsvHeader(path);
  requireColumns(path, header, AZURE_LLM_COLUMNS);
  const images = header.includes("NumImages");
  const src = csvSource(path, header, {
    TIMESTAMP: "VARCHAR",
    ContextTokens: "DOUBLE",
    GeneratedTokens: "DOUBLE",
    NumImages: "DOUBLE",
  });
  await conn.run(
    `create or replace temp table azure_raw as
     select TIMESTAMP as ts, ContextTokens as input, GeneratedTokens as output
       ${images ? ", NumImages as images" : ""}
     from ${src.sql}`,
  );
  // Offsets from the first row's time keep nanoseconds exact in a double.
  const base = (await conn.runAndReadAll(
    `select coalesce((select ${NS_SQL} from azure_raw
       where regexp_full_match(ts, ${
      sqlString(TS_PATTERN)
    }) limit 1), 0)::varchar as b`,
  )).getRowObjectsJson()[0].b as string;
  const cols = await readNumericColumns(
    conn,
    `select (case when regexp_full_match(ts, ${sqlString(TS_PATTERN)})
              then (${NS_SQL} - ${base}::hugeint)::double / 1e6 end) as t,
            input as i, output as o
            ${images ? ", coalesce(images, 0)::double as m" : ""}
     from azure_raw`,
  );
  const c = cols.columns;
  const rejects = await csvRejectFindings(
    conn,
    src,
    (col) =>
      col === "TIMESTAMP"
        ? '"YYYY-MM-DD HH:MM:SS[.fffffff]"'
        : col === "NumImages"
        ? "an integer image count >= 0"
        : "an integer token count >= 0",
  );
  const rawTime = async (rec: number) =>
    String(
      (await conn.runAndReadAll(
        `select ts from azure_raw limit 1 offset ${rec}`,
      )).getRowObjectsJson()[0]?.ts ?? "",
    );
  const built = await buildRequests(
    {
      rows: cols.rows,
      timeMs: c.t,
      input: c.i,
      output: c.o,
      missing: { input: cols.missing.i, output: cols.missing.o },
    },
    {
      time: "TIMESTAMP",
      input: "ContextTokens",
      output: "GeneratedTokens",
      timeExpected: '"YYYY-MM-DD HH:MM:SS[.fffffff]"',
      timeMinMs: -Infinity,
      timeUnitMs: 1,
      rawTime,
    },
    opts,
    images ? (rec, req) => (req.numImages = c.m[rec]) : undefined,
  );
  const details: Record<string, unknown> = { header };
  if (built.requests.length > 0) {
    let firstRec = Infinity, lastRec = -1, minRec = -1, maxRec = -1;
    for (const r of built.requests) {
      const i = r.traceIndex!;
      firstRec = Math.min(firstRec, i);
      lastRec = Math.max(lastRec, i);
      if (minRec < 0 || c.t[i] < c.t[minRec]) minRec = i;
      if (maxRec < 0 || c.t[i] > c.t[maxRec]) maxRec = i;
    }
    details.first_timestamp_raw = await rawTime(firstRec);
    details.last_timestamp_raw = await rawTime(lastRec);
    details.min_timestamp_raw = await rawTime(minRec);
    details.max_timestamp_raw = await rawTime(maxRec);
  }
  return finishRead(path, opts, built, {
    findings: rejects,
    records: cols.rows + rejects.length,
    locate: csvLocator(path, rejects),
    details,
  });
}

/** The header of a gzip-compressed CSV. */
async function gzipHeader(path: string): Promise<string[]> {
  using f = await Deno.open(path);
  const reader = f.readable.pipeThrough(new DecompressionStream("gzip"))
    .getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < 65536) {
    const { value, done } = await reader.read().catch(() => ({
      value: undefined,
      done: true,
    }));
    if (done || !value) break;
    chunks.push(value);
    total += value.length;
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(total);
  let k = 0;
  for (const ch of chunks) {
    all.set(ch, k);
    k += ch.length;
  }
  return splitCsvLine(firstLine(all)).map((h) => h.trim());
}
