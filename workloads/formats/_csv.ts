/**
 * CSV plumbing shared by the CSV trace formats: the header (BOM and CRLF tolerant), a DuckDB
 * `read_csv` source that stores rejected lines with their line numbers, and the translation of
 * those rejects into bad-row findings with the value seen and the value expected.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "./_duckdb.ts";
import { linesOfRecords } from "./_lines.ts";
import type { BadRowFinding } from "./bad_rows.ts";
import { TraceError } from "./trace_error.ts";

/** Reads up to `n` bytes from the start of a file. */
export async function readHead(path: string, n = 65536): Promise<Uint8Array> {
  using f = await Deno.open(path);
  const buf = new Uint8Array(n);
  let k = 0;
  while (k < n) {
    const r = await f.read(buf.subarray(k));
    if (r === null) break;
    k += r;
  }
  return buf.subarray(0, k);
}

/** Splits one CSV line into fields (RFC 4180 quotes; no embedded newlines). */
export function splitCsvLine(line: string, delim = ","): string[] {
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === delim) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** The first line of a text file, without BOM and line ending. */
export function firstLine(head: Uint8Array): string {
  const text = new TextDecoder().decode(head).replace(/^\uFEFF/, "");
  return text.split(/\r?\n|\r/, 1)[0];
}

/** Reads the header of a CSV file; errors when the file holds nothing. */
export async function readCsvHeader(path: string): Promise<string[]> {
  const line = firstLine(await readHead(path));
  if (line.trim() === "") {
    throw new TraceError(
      { path, line: 1 },
      "expected a CSV header, got an empty line",
    );
  }
  return splitCsvLine(line).map((c) => c.trim());
}

/** Errors (line 1) unless every `required` column is in the header. */
export function requireColumns(
  path: string,
  header: readonly string[],
  required: readonly string[],
): void {
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new TraceError(
      { path, line: 1 },
      `missing column${missing.length > 1 ? "s" : ""} ${
        missing.map((m) => `"${m}"`).join(", ")
      }: expected a header with ${required.join(",")}, got "${
        header.join(",")
      }"`,
    );
  }
}

/** A `read_csv` over the file with typed columns and stored rejects. */
export interface CsvSource {
  /** SQL table expression. */
  sql: string;
  rejectsTable: string;
  header: string[];
}

let sourceCounter = 0;

/**
 * Builds a `read_csv` source: listed columns get their type, the others are read as VARCHAR.
 * Rows DuckDB cannot read (wrong column count, a value that does not cast) are stored in the
 * rejects table with their line and left out of the result.
 */
export function csvSource(
  path: string,
  header: readonly string[],
  types: Record<string, string>,
): CsvSource {
  const n = ++sourceCounter;
  const cols = header.map((h) => `${sqlString(h)}: '${types[h] ?? "VARCHAR"}'`)
    .join(", ");
  return {
    sql: `read_csv(${
      sqlString(path)
    }, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
      columns = {${cols}}, store_rejects = true, rejects_table = 'rejects_${n}',
      rejects_scan = 'reject_scans_${n}')`,
    rejectsTable: `rejects_${n}`,
    header: [...header],
  };
}

/** Quotes a column name for SQL. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Turns the rejects of a source (after it was scanned) into findings; `expected(column)` says
 * what a valid value of that column looks like.
 */
export async function csvRejectFindings(
  conn: DuckDBConnection,
  src: CsvSource,
  expected: (column: string) => string,
): Promise<BadRowFinding[]> {
  const rows = (await conn.runAndReadAll(
    `select line, column_idx, column_name, error_type, csv_line
     from ${src.rejectsTable} order by line`,
  )).getRowObjectsJson();
  return rows.map((r) => {
    const text = String(r.csv_line ?? "").replace(/^[\r\n]+/, "").replace(
      /[\r\n]+$/,
      "",
    );
    const line = Number(r.line);
    if (r.error_type === "CAST") {
      const field = String(r.column_name);
      const value = splitCsvLine(text)[Number(r.column_idx) - 1] ?? "";
      return {
        line,
        field,
        detail: `expected ${expected(field)}, got "${value}"`,
      };
    }
    const got = splitCsvLine(text).length;
    return {
      line,
      detail: `expected ${src.header.length} columns (${
        src.header.join(",")
      }), got ${got} in "${text.slice(0, 120)}"`,
    };
  });
}

/** Maps record indices of a CSV source to file lines, skipping the rejected lines. */
export function csvLocator(
  path: string,
  findings: readonly BadRowFinding[],
): (recs: number[]) => Promise<Map<number, number>> {
  const skip = new Set(
    findings.filter((f) => f.line !== undefined).map((f) => f.line!),
  );
  return (recs) =>
    linesOfRecords(path, recs, { headerLines: 1, skipLines: skip });
}
