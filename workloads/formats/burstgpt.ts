/**
 * Reader for BurstGPT CSV traces (HPMLL/BurstGPT): the 6-column files
 * (`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`) and the 8-column one
 * that adds `Session ID` and `Elapsed time`. Columns are found by name.
 *
 * `Timestamp` is seconds from the start of collection. A row with 0 response tokens is a request
 * that failed in the source: it is counted and, by default, not replayed. `Model` and `Log Type`
 * filters keep only the given values.
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
  ident,
  readCsvHeader,
  requireColumns,
} from "./_csv.ts";
import { finishRead, type ReaderOptions, type ReaderResult } from "./reader.ts";
import { TraceError } from "./trace_error.ts";

/** The columns every BurstGPT trace has. */
export const BURSTGPT_COLUMNS = [
  "Timestamp",
  "Request tokens",
  "Response tokens",
] as const;

/**
 * Reads a BurstGPT CSV.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readBurstGpt } from "./burstgpt.ts";
 * const p = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(p, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n" +
 *   "5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,0,1087,API log\n");
 * const r = await withDuckDB((c) => readBurstGpt(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests.length, r.sourceFailures); // 1 1
 * ```
 */
export async function readBurstGpt(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const header = await readCsvHeader(path);
  requireColumns(path, header, BURSTGPT_COLUMNS);
  for (
    const [flag, col, values] of [
      ["--filter-model", "Model", opts.models],
      ["--filter-log-type", "Log Type", opts.logTypes],
    ] as const
  ) {
    if (values && !header.includes(col)) {
      throw new TraceError(
        { path, line: 1 },
        `${flag} filters column "${col}", which this file lacks: expected a header with "${col}", got "${
          header.join(",")
        }"`,
      );
    }
  }
  const types = {
    "Timestamp": "DOUBLE",
    "Request tokens": "DOUBLE",
    "Response tokens": "DOUBLE",
    "Total tokens": "DOUBLE",
    "Elapsed time": "DOUBLE",
  };
  const src = csvSource(path, header, types);
  // A second scan needs its own rejects table; it keeps the same rows in the same order.
  const again = () => csvSource(path, header, types).sql;
  const inList = (col: string, values: string[] | undefined) =>
    values
      ? `(${ident(col)} in (${values.map(sqlString).join(", ")}))`
      : "true";
  const cols = await readNumericColumns(
    conn,
    `select ("Timestamp" * 1000)::double as t,
            "Request tokens"::double as i,
            "Response tokens"::double as o,
            (${inList("Model", opts.models)} and ${
      inList("Log Type", opts.logTypes)
    })::double as k,
            ("Response tokens" = 0)::double as f
     from ${src.sql}`,
  );
  const c = cols.columns;
  const rejects = await csvRejectFindings(
    conn,
    src,
    (col) =>
      col === "Timestamp"
        ? "seconds >= 0"
        : col === "Request tokens" || col === "Response tokens"
        ? "an integer token count >= 0"
        : "a number",
  );
  let sessions: string[] | undefined;
  if (header.includes("Session ID")) {
    const rows = (await conn.runAndReadAll(
      `select "Session ID"::varchar as s from ${again()}`,
    )).getColumnsJS()[0];
    sessions = rows.map((s) => (s === null ? "" : String(s)));
  }
  const built = await buildRequests(
    {
      rows: cols.rows,
      timeMs: c.t,
      input: c.i,
      output: c.o,
      keep: c.k,
      failed: c.f,
      missing: {
        time: cols.missing.t,
        input: cols.missing.i,
        output: cols.missing.o,
      },
    },
    {
      time: "Timestamp",
      input: "Request tokens",
      output: "Response tokens",
      timeExpected: "seconds >= 0",
      timeUnitMs: 1000,
    },
    opts,
    sessions
      ? (rec, req) => {
        if (sessions![rec] !== "") req.sessionId = sessions![rec];
      }
      : undefined,
  );
  if (sessions) numberTurns(built.requests);
  if ((opts.models || opts.logTypes) && built.filtered === cols.rows) {
    const seen = (await conn.runAndReadAll(
      `select ${
        header.includes("Model")
          ? `string_agg(distinct "Model", ', ' order by "Model")`
          : "''"
      } as m,
              ${
        header.includes("Log Type")
          ? `string_agg(distinct "Log Type", ', ' order by "Log Type")`
          : "''"
      } as l
       from ${again()}`,
    )).getRowObjectsJson()[0];
    throw new TraceError(
      { path },
      `no row matches the filters (models ${
        JSON.stringify(opts.models ?? "any")
      }, log types ${
        JSON.stringify(opts.logTypes ?? "any")
      }): the file has models ${seen.m || "none"} and log types ${
        seen.l || "none"
      }`,
    );
  }
  return finishRead(path, opts, built, {
    findings: rejects,
    records: cols.rows + rejects.length,
    locate: csvLocator(path, rejects),
    details: { header },
  });
}

/** Sets `turn` (0-based, in time order) on requests that have a session id. */
export function numberTurns(
  requests: { sessionId?: string; turn?: number }[],
): void {
  const next = new Map<string, number>();
  for (const r of requests) {
    if (r.sessionId === undefined) continue;
    const t = next.get(r.sessionId) ?? 0;
    r.turn = t;
    next.set(r.sessionId, t + 1);
  }
}
