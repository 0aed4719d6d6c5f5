/**
 * Reader for Mooncake JSONL traces and AIPerf's superset of them.
 *
 * Mooncake (FAST'25): `{"timestamp": ms, "input_length", "output_length", "hash_ids"}`, where
 * `hash_ids` are prefix-block ids (512 tokens per block unless `blockSize` says otherwise):
 * equal ids mean identical prompt blocks, which prompt synthesis preserves.
 *
 * AIPerf adds: `session_id`; `delay` (ms after the previous turn of the session, instead of a
 * `timestamp`); `text_input` (a literal prompt) or `messages` (chat messages) instead of
 * `input_length`. A turn with a `delay` gets `thinkTimeMs` (closed-loop replay) and an open-loop
 * arrival of the previous turn's arrival plus the delay; a first turn without a timestamp
 * arrives at 0.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ChatMessage, TraceRequest } from "../base/request.ts";
import { readNumericColumns } from "./_columns.ts";
import { buildRequests, MAX_TRACE_TOKENS } from "./_build.ts";
import {
  jsonNumber,
  jsonPath,
  loadJsonLines,
  wrongTypeFindings,
} from "./_jsonl.ts";
import type { BadRowFinding } from "./bad_rows.ts";
import {
  finishRead,
  type ReaderOptions,
  type ReaderResult,
  textTokens,
} from "./reader.ts";
import { numberTurns } from "./burstgpt.ts";

const COUNT = "an integer token count >= 0";
const MS = "milliseconds >= 0";

/**
 * Reads a Mooncake / AIPerf JSONL trace.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readMooncake } from "./mooncake.ts";
 * const p = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(p, '{"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]}\n');
 * const r = await withDuckDB((c) => readMooncake(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests[0].prefixBlocks); // [ 0, 1 ]
 * ```
 */
export async function readMooncake(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const lines = await loadJsonLines(conn, path, "mc");
  const wrong = await wrongTypeFindings(conn, "mc", [
    { key: "timestamp", expected: MS },
    { key: "delay", expected: MS },
    { key: "input_length", expected: COUNT },
    { key: "output_length", expected: COUNT },
  ]);
  const has = (key: string, type: string) =>
    `(json_type(j, ${jsonPath(key)}) = '${type}')::double`;
  const cols = await readNumericColumns(
    conn,
    `select line::double as line, ${jsonNumber("timestamp")} as t, ${
      jsonNumber("delay")
    } as d,
            ${jsonNumber("input_length")} as i, ${
      jsonNumber("output_length")
    } as o,
            ${has("text_input", "VARCHAR")} as text, ${
      has("messages", "ARRAY")
    } as msgs,
            (json_type(j, '$.session_id') in ('VARCHAR', 'BIGINT', 'UBIGINT'))::double as sess,
            ${has("hash_ids", "ARRAY")} as hashes,
            (coalesce(json_type(j, '$.hash_ids'), 'NULL') <> 'NULL')::double as hashes_given
     from mc order by line`,
  );
  const c = cols.columns;
  const n = cols.rows;
  const any = (col: Float64Array) => col.some((v) => v === 1);
  const extras = new Map<number, Record<string, unknown>>();
  if (
    any(c.text) || any(c.msgs) || any(c.sess) || any(c.hashes_given)
  ) {
    const rows = (await conn.runAndReadAll(
      `select line, j ->> '$.text_input' as text, json_extract(j, '$.messages')::varchar as msgs,
              j ->> '$.session_id' as sess,
              try_cast(json_extract(j, '$.hash_ids') as BIGINT[]) as hashes,
              json_extract(j, '$.hash_ids')::varchar as hashes_raw
       from mc order by line`,
    )).getRowObjectsJS();
    rows.forEach((r, k) => extras.set(k, r));
  }
  const findings: BadRowFinding[] = [...lines.findings, ...wrong.findings];
  const bad = new Float64Array(n);
  const time = new Float64Array(n);
  const input = Float64Array.from(c.i);
  const lineOf = (k: number) => c.line[k];
  const prompts = new Map<number, TraceRequest["prompt"]>();
  let approximate = false;
  const anyTimestamp = c.t.some((v) => !Number.isNaN(v));
  const lastArrival = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    if (wrong.lines.has(lineOf(k))) {
      bad[k] = 1;
      continue;
    }
    const x = extras.get(k);
    const session = x?.sess === null || x?.sess === undefined
      ? undefined
      : String(x.sess);
    const hashes = x?.hashes as unknown[] | null | undefined;
    if (
      x && c.hashes_given[k] === 1 &&
      (c.hashes[k] !== 1 || !hashes || hashes.some((h) => h === null))
    ) {
      findings.push({
        line: lineOf(k),
        field: "hash_ids",
        detail: `expected an array of integer block ids, got ${x.hashes_raw}`,
      });
      bad[k] = 1;
      continue;
    }
    // Block ids describe the prompt in blocks: as many as its length fills, no more, no fewer
    // (every record of the published Mooncake traces holds to this).
    const bs = opts.blockSize;
    if (
      hashes && hashes.length > 0 && Number.isInteger(input[k]) &&
      input[k] >= 0 && input[k] <= MAX_TRACE_TOKENS &&
      hashes.length !== Math.ceil(input[k] / bs)
    ) {
      findings.push({
        line: lineOf(k),
        field: "hash_ids",
        detail: `expected ${
          Math.ceil(input[k] / bs)
        } block ids for input_length ${
          input[k]
        } in blocks of ${bs} tokens (--block-size), got ${hashes.length}`,
      });
      bad[k] = 1;
      continue;
    }
    if (Number.isNaN(input[k]) && x && (c.text[k] === 1 || c.msgs[k] === 1)) {
      if (c.text[k] === 1) {
        const text = String(x.text);
        const t = textTokens(opts, text);
        input[k] = t.n;
        approximate ||= t.approximate;
        prompts.set(k, { kind: "text", text });
      } else {
        const messages = parseMessages(String(x.msgs));
        if (messages === null) {
          findings.push({
            line: lineOf(k),
            field: "messages",
            detail: `expected an array of {"role", "content"} objects, got ${
              String(x.msgs).slice(0, 120)
            }`,
          });
          bad[k] = 1;
          continue;
        }
        const t = textTokens(opts, messages.map((m) => m.content).join("\n"));
        input[k] = t.n;
        approximate ||= t.approximate;
        prompts.set(k, { kind: "chat", messages });
      }
    } else if (x && c.text[k] === 1) {
      prompts.set(k, { kind: "text", text: String(x.text) });
    }
    let t = c.t[k];
    if (Number.isNaN(t) && !Number.isNaN(c.d[k])) {
      const prev = session === undefined ? undefined : lastArrival.get(session);
      t = (prev ?? (anyTimestamp ? NaN : 0)) + c.d[k];
    } else if (Number.isNaN(t) && !anyTimestamp) t = 0;
    time[k] = t;
    if (session !== undefined && !Number.isNaN(t)) lastArrival.set(session, t);
  }
  const built = await buildRequests(
    {
      rows: n,
      timeMs: time,
      input,
      output: c.o,
      bad,
      missing: { input: cols.missing.i, output: cols.missing.o },
    },
    {
      time: "timestamp",
      input: "input_length",
      output: "output_length",
      timeExpected: MS,
      timeUnitMs: 1,
    },
    opts,
    (k, req) => {
      const x = extras.get(k);
      if (x) {
        const h = x.hashes as unknown[] | null;
        if (h && h.length > 0) req.prefixBlocks = h.map(Number);
        if (x.sess !== null && x.sess !== undefined) {
          req.sessionId = String(x.sess);
        }
      }
      if (!Number.isNaN(c.d[k])) req.thinkTimeMs = c.d[k];
      const p = prompts.get(k);
      if (p) req.prompt = p;
      if (p && Number.isNaN(c.i[k]) && !opts.countTokens) {
        req.approximateLengths = true;
      }
    },
  );
  numberTurns(built.requests);
  const keys = (await conn.runAndReadAll(
    `select array_to_string(list_sort(json_keys(j)), ',') as k, count(*) as n
     from mc group by k order by n desc, k`,
  )).getRowObjectsJson();
  return finishRead(path, opts, built, {
    findings,
    records: lines.records,
    locate: (recs) => Promise.resolve(new Map(recs.map((r) => [r, lineOf(r)]))),
    timed: anyTimestamp || c.d.some((v) => !Number.isNaN(v)),
    lengths: approximate ? "approximate" : "counted",
    details: {
      record_keys: Object.fromEntries(keys.map((r) => [r.k, Number(r.n)])),
      timestamp_is_integer: built.requests.every((r) =>
        Number.isInteger(r.arrivalMs)
      ),
    },
  });
}

/** Parses AIPerf `messages`, or null when they are not role/content objects. */
function parseMessages(json: string): ChatMessage[] | null {
  try {
    const v = JSON.parse(json);
    if (!Array.isArray(v)) return null;
    const out: ChatMessage[] = [];
    for (const m of v) {
      if (
        !m || typeof m !== "object" ||
        !["system", "user", "assistant"].includes(m.role)
      ) return null;
      const content = typeof m.content === "string"
        ? m.content
        : Array.isArray(m.content)
        ? m.content.map((p: { text?: string }) => p?.text ?? "").join("")
        : null;
      if (content === null) return null;
      out.push({ role: m.role, content });
    }
    return out;
  } catch {
    return null;
  }
}
