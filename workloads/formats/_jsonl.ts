/**
 * JSONL plumbing shared by the JSON-lines trace formats. The file is split into lines inside
 * DuckDB (`read_text`), so every record keeps its exact line number; each valid line is a JSON
 * object in `<table>(line, j)`, and every other non-blank line is a bad-row finding, as is an
 * object that repeats a key (which value is meant is ambiguous, and DuckDB would silently take
 * one). Handles a BOM, CRLF endings and blank lines.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "./_duckdb.ts";
import { jsonObjectProblem } from "./_lines.ts";
import type { BadRowFinding } from "./bad_rows.ts";

/** The lines of a JSONL file that DuckDB loaded. */
export interface JsonLines {
  /** Non-blank lines. */
  records: number;
  /** Lines that are not one JSON object. */
  findings: BadRowFinding[];
}

// DuckDB evaluates both sides of AND, so the cast must be guarded by CASE.
const IS_OBJECT =
  "(case when json_valid(l) then json_type(l::json) = 'OBJECT' else false end)";
/** The top-level keys of an object line (NULL for other lines). */
const KEYS = `(case when ${IS_OBJECT} then json_keys(l::json) end)`;
const REPEATS_KEY = `(len(${KEYS}) <> len(list_distinct(${KEYS})))`;

/** Loads the object lines of `path` into temp table `table(line BIGINT, j JSON)`. */
export async function loadJsonLines(
  conn: DuckDBConnection,
  path: string,
  table: string,
): Promise<JsonLines> {
  await conn.run(`create or replace temp table ${table}_all as
    select g.i::bigint as line,
           trim(rtrim(case when g.i = 1 then replace(ls[g.i], chr(65279), '') else ls[g.i] end,
                      chr(13))) as l
    from (select string_split(content, chr(10)) as ls from read_text(${
    sqlString(path)
  })) s,
         range(1, len(ls) + 1) g(i)`);
  await conn.run(`create or replace temp table ${table} as
    select line, l::json as j from ${table}_all
    where l <> '' and ${IS_OBJECT} and not ${REPEATS_KEY} order by line`);
  const repeats = (await conn.runAndReadAll(
    `select line, ${KEYS} as keys from ${table}_all
     where l <> '' and ${IS_OBJECT} and ${REPEATS_KEY} order by line`,
  )).getRowObjectsJS();
  const bad = (await conn.runAndReadAll(
    `select line, l from ${table}_all
     where l <> '' and not ${IS_OBJECT}
     order by line`,
  )).getRowObjectsJson();
  const records = Number(
    (await conn.runAndReadAll(
      `select count(*) as n from ${table}_all where l <> ''`,
    )).getRowObjectsJson()[0].n,
  );
  const repeated = repeats.map((r) => {
    const keys = (r.keys as string[]).map(String);
    const key = keys.find((k, i) => keys.indexOf(k) !== i)!;
    return {
      line: Number(r.line),
      field: key,
      detail: `expected each key once, got "${key}" ${
        keys.filter((k) => k === key).length
      } times (which value is meant is ambiguous)`,
    };
  });
  return {
    records,
    findings: [
      ...bad.map((b) => {
        const text = String(b.l);
        return {
          line: Number(b.line),
          detail: `${jsonObjectProblem(text) ?? "expected a JSON object"} in ${
            JSON.stringify(text.slice(0, 120))
          }`,
        };
      }),
      ...repeated,
    ],
  };
}

/** The JSON path of a key. */
export function jsonPath(key: string): string {
  return sqlString(`$."${key.replaceAll('"', '\\"')}"`);
}

/** SQL: the key's value as DOUBLE when it is a JSON number (`NaN` included), else NULL. */
export function jsonNumber(key: string): string {
  const p = jsonPath(key);
  return `(case when json_type(j, ${p}) in ('BIGINT', 'UBIGINT', 'DOUBLE')
    then (j ->> ${p})::double end)`;
}

/** SQL: true when the key is present, not null and not a JSON number. */
export function jsonNotNumber(key: string): string {
  const p = jsonPath(key);
  return `(json_type(j, ${p}) is not null and json_type(j, ${p}) not in ('BIGINT', 'UBIGINT', 'DOUBLE', 'NULL'))`;
}

/**
 * Findings for keys that hold something other than a number, one per line (the first such key
 * in `keys` order), plus the set of those lines.
 */
export async function wrongTypeFindings(
  conn: DuckDBConnection,
  table: string,
  keys: readonly { key: string; expected: string }[],
): Promise<{ findings: BadRowFinding[]; lines: Set<number> }> {
  if (keys.length === 0) return { findings: [], lines: new Set() };
  const which = keys.map((k, i) => `when ${jsonNotNumber(k.key)} then ${i}`)
    .join(" ");
  const rows = (await conn.runAndReadAll(
    `select line, k, case ${
      keys.map((k, i) =>
        `when k = ${i} then json_extract(j, ${jsonPath(k.key)})::varchar`
      )
        .join(" ")
    } end as v
     from (select line, j, case ${which} end as k from ${table}) where k is not null
     order by line`,
  )).getRowObjectsJson();
  const findings = rows.map((r) => {
    const k = keys[Number(r.k)];
    return {
      line: Number(r.line),
      field: k.key,
      detail: `expected ${k.expected}, got ${r.v}`,
    };
  });
  return { findings, lines: new Set(findings.map((f) => f.line)) };
}
