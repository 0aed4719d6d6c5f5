/**
 * Reader for any CSV, JSONL or Parquet trace, given which columns hold the arrival time, the
 * input and output lengths (and optionally a session id and block hash ids) and the time unit.
 *
 * The container is chosen by extension: `.csv`, `.jsonl`/`.ndjson`, `.parquet`. Times may be
 * numbers in `s`, `ms`, `us` or `ns`, or `datetime` strings (ISO 8601, microsecond precision).
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "./_duckdb.ts";
import { type NumericColumns, readNumericColumns } from "./_columns.ts";
import { buildRequests, type RawTrace } from "./_build.ts";
import {
  csvLocator,
  csvRejectFindings,
  csvSource,
  ident,
  readCsvHeader,
  requireColumns,
} from "./_csv.ts";
import {
  jsonNumber,
  jsonPath,
  loadJsonLines,
  wrongTypeFindings,
} from "./_jsonl.ts";
import type { BadRowFinding } from "./bad_rows.ts";
import {
  type ColumnMapping,
  finishRead,
  type ReaderOptions,
  type ReaderResult,
  type TimeUnit,
} from "./reader.ts";
import { TraceError } from "./trace_error.ts";
import { numberTurns } from "./burstgpt.ts";

const UNIT_NAMES = {
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
};

const UNIT_MS: Record<Exclude<TimeUnit, "datetime">, number> = {
  s: 1000,
  ms: 1,
  us: 1e-3,
  ns: 1e-6,
};

/**
 * Reads a generic CSV, JSONL or Parquet trace with a column mapping.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readGeneric } from "./generic.ts";
 * const p = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(p, "t_ms,prompt_len,gen_len\n100,50,5\n350,60,7\n");
 * const opts = { ...DEFAULT_READER_OPTIONS, timeUnit: "ms" as const,
 *   columns: { time: "t_ms", input: "prompt_len", output: "gen_len" } };
 * const r = await withDuckDB((c) => readGeneric(c, p, opts));
 * console.log(r.requests.map((q) => q.arrivalMs)); // [ 0, 250 ]
 * ```
 */
export async function readGeneric(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const m = opts.columns;
  if (!m) {
    throw new TraceError(
      { path },
      "the generic format needs a column mapping: pass --columns time=<col>,input=<col>,output=<col>",
    );
  }
  const unit = opts.timeUnit ?? "s";
  const kind = /\.parquet$/i.test(path)
    ? "parquet"
    : /\.(jsonl|ndjson)$/i.test(path)
    ? "jsonl"
    : "csv";
  const fields = {
    time: m.time ?? "(none)",
    input: m.input,
    output: m.output,
    timeExpected: unit === "datetime"
      ? "a date-time"
      : `${UNIT_NAMES[unit]} >= 0`,
    timeMinMs: unit === "datetime" ? -Infinity : 0,
    timeUnitMs: unit === "datetime" ? 1 : UNIT_MS[unit],
  };
  const timeSql = (expr: string) =>
    m.time === undefined
      ? "0::double"
      : unit === "datetime"
      ? `(epoch_us(try_cast(${expr} as TIMESTAMP))::double / 1000)`
      : `(try_cast(${expr} as DOUBLE) * ${UNIT_MS[unit]})`;
  if (kind === "jsonl") {
    return await readJsonl(conn, path, opts, m, fields, timeSql);
  }
  let src: string;
  let findings: BadRowFinding[] = [];
  let locate = (_: number[]) => Promise.resolve(new Map<number, number>());
  let header: string[];
  if (kind === "csv") {
    header = await readCsvHeader(path);
    requireColumns(path, header, mappedColumns(m));
    const types: Record<string, string> = {
      [m.input]: "DOUBLE",
      [m.output]: "DOUBLE",
    };
    if (m.time && unit !== "datetime") types[m.time] = "DOUBLE";
    const s = csvSource(path, header, types);
    src = s.sql;
    const cols = await numeric(conn, src, m, timeSql);
    findings = await csvRejectFindings(
      conn,
      s,
      (col) =>
        col === m.time ? fields.timeExpected : "an integer token count >= 0",
    );
    locate = csvLocator(path, findings);
    const again = () => csvSource(path, header, types).sql;
    return await finish(
      conn,
      path,
      opts,
      m,
      fields,
      cols,
      again,
      findings,
      locate,
      {
        header,
      },
      true,
    );
  }
  src = `read_parquet(${sqlString(path)})`;
  header = (await conn.runAndReadAll(`describe select * from ${src}`))
    .getRowObjectsJson().map((r) => String(r.column_name));
  requireColumns(path, header, mappedColumns(m));
  const cols = await numeric(conn, src, m, timeSql);
  const parquet = src;
  return await finish(
    conn,
    path,
    opts,
    m,
    fields,
    cols,
    () => parquet,
    [],
    locate,
    {
      header,
    },
    false,
  );
}

function mappedColumns(m: ColumnMapping): string[] {
  return [m.time, m.input, m.output, m.session, m.hashIds].filter((
    c,
  ): c is string => c !== undefined);
}

/** Which values of the t, i, o columns were absent (NULL). */
function missingOf(cols: NumericColumns): RawTrace["missing"] {
  return {
    time: cols.missing.t,
    input: cols.missing.i,
    output: cols.missing.o,
  };
}

function numeric(
  conn: DuckDBConnection,
  src: string,
  m: ColumnMapping,
  timeSql: (e: string) => string,
) {
  return readNumericColumns(
    conn,
    `select ${timeSql(m.time ? ident(m.time) : "0")} as t,
            try_cast(${ident(m.input)} as DOUBLE) as i,
            try_cast(${ident(m.output)} as DOUBLE) as o
     from ${src}`,
  );
}

async function finish(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
  m: ColumnMapping,
  fields: Parameters<typeof buildRequests>[1],
  cols: Awaited<ReturnType<typeof readNumericColumns>>,
  again: () => string,
  findings: BadRowFinding[],
  locate: (recs: number[]) => Promise<Map<number, number>>,
  details: Record<string, unknown>,
  hasLines: boolean,
): Promise<ReaderResult> {
  const extras = m.session || m.hashIds
    ? (await conn.runAndReadAll(
      `select ${m.session ? `${ident(m.session)}::varchar` : "null"} as s,
              ${
        m.hashIds ? `try_cast(${ident(m.hashIds)} as BIGINT[])` : "null"
      } as h
       from ${again()}`,
    )).getRowObjectsJS()
    : undefined;
  const c = cols.columns;
  const built = await buildRequests(
    {
      rows: cols.rows,
      timeMs: c.t,
      input: c.i,
      output: c.o,
      missing: missingOf(cols),
    },
    fields,
    opts,
    extras
      ? (k, req) => {
        const x = extras[k];
        if (x.s !== null) req.sessionId = String(x.s);
        const h = x.h as unknown[] | null;
        if (h && h.length > 0) req.prefixBlocks = h.map(Number);
      }
      : undefined,
  );
  numberTurns(built.requests);
  return finishRead(path, opts, built, {
    findings,
    records: cols.rows + findings.length,
    locate,
    recordsHaveLines: hasLines,
    timed: m.time !== undefined,
    details,
  });
}

async function readJsonl(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
  m: ColumnMapping,
  fields: Parameters<typeof buildRequests>[1],
  timeSql: (e: string) => string,
): Promise<ReaderResult> {
  const lines = await loadJsonLines(conn, path, "gj");
  const wrong = await wrongTypeFindings(conn, "gj", [
    ...(m.time && opts.timeUnit !== "datetime"
      ? [{ key: m.time, expected: fields.timeExpected }]
      : []),
    { key: m.input, expected: "an integer token count >= 0" },
    { key: m.output, expected: "an integer token count >= 0" },
  ]);
  const t = m.time === undefined
    ? "0::double"
    : opts.timeUnit === "datetime"
    ? timeSql(`j ->> ${jsonPath(m.time)}`)
    : `(${jsonNumber(m.time)} * ${fields.timeUnitMs})`;
  const cols = await readNumericColumns(
    conn,
    `select line::double as line, ${t} as t, ${jsonNumber(m.input)} as i, ${
      jsonNumber(m.output)
    } as o
     from gj order by line`,
  );
  const line = cols.columns.line;
  const bad = line.map((l) => (wrong.lines.has(l) ? 1 : 0));
  const extras = m.session || m.hashIds
    ? (await conn.runAndReadAll(
      `select ${m.session ? `j ->> ${jsonPath(m.session)}` : "null"} as s,
              ${
        m.hashIds
          ? `try_cast(json_extract(j, ${jsonPath(m.hashIds)}) as BIGINT[])`
          : "null"
      } as h
       from gj order by line`,
    )).getRowObjectsJS()
    : undefined;
  const c = cols.columns;
  const built = await buildRequests(
    {
      rows: cols.rows,
      timeMs: c.t,
      input: c.i,
      output: c.o,
      bad,
      missing: missingOf(cols),
    },
    fields,
    opts,
    extras
      ? (k, req) => {
        const x = extras[k];
        if (x.s !== null) req.sessionId = String(x.s);
        const h = x.h as unknown[] | null;
        if (h && h.length > 0) req.prefixBlocks = h.map(Number);
      }
      : undefined,
  );
  numberTurns(built.requests);
  return finishRead(path, opts, built, {
    findings: [...lines.findings, ...wrong.findings],
    records: lines.records,
    locate: (recs) => Promise.resolve(new Map(recs.map((r) => [r, line[r]]))),
    timed: m.time !== undefined,
  });
}
