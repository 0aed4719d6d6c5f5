/**
 * Reader for vLLM's custom dataset JSONL (`{"prompt": "...", "output_tokens": n}` per line;
 * `output_tokens` optional, default `defaultOutputTokens`). No arrival times: every request
 * arrives at 0 until an arrival process is assigned.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { readNumericColumns } from "./_columns.ts";
import { buildRequests } from "./_build.ts";
import { jsonNumber, loadJsonLines, wrongTypeFindings } from "./_jsonl.ts";
import type { BadRowFinding } from "./bad_rows.ts";
import {
  finishRead,
  type ReaderOptions,
  type ReaderResult,
  textTokens,
} from "./reader.ts";

/**
 * Reads a vLLM custom-dataset JSONL file.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readVllmCustom } from "./vllm_custom.ts";
 * const p = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(p, '{"prompt": "Tell me a story", "output_tokens": 64}\n');
 * const r = await withDuckDB((c) => readVllmCustom(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests[0].outputTokens, r.requests[0].prompt?.kind); // 64 text
 * ```
 */
export async function readVllmCustom(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  const lines = await loadJsonLines(conn, path, "vc");
  const wrong = await wrongTypeFindings(conn, "vc", [
    { key: "output_tokens", expected: "an integer token count >= 0" },
  ]);
  const cols = await readNumericColumns(
    conn,
    `select line::double as line, ${
      jsonNumber("output_tokens")
    } as o from vc order by line`,
  );
  const prompts = (await conn.runAndReadAll(
    `select case when json_type(j, '$.prompt') = 'VARCHAR' then j ->> '$.prompt' end as p,
            json_extract(j, '$.prompt')::varchar as raw
     from vc order by line`,
  )).getRowObjectsJS();
  const n = cols.rows;
  const line = cols.columns.line;
  const findings: BadRowFinding[] = [...lines.findings, ...wrong.findings];
  const bad = new Float64Array(n);
  const input = new Float64Array(n);
  const output = cols.columns.o.map((o) =>
    Number.isNaN(o) ? opts.defaultOutputTokens : o
  );
  let approximate = false;
  for (let k = 0; k < n; k++) {
    if (wrong.lines.has(line[k])) bad[k] = 1;
    else if (prompts[k].p === null) {
      findings.push({
        line: line[k],
        field: "prompt",
        detail: `expected a string, got ${
          prompts[k].raw ?? "nothing (missing)"
        }`,
      });
      bad[k] = 1;
    } else {
      const t = textTokens(opts, String(prompts[k].p));
      input[k] = t.n;
      approximate ||= t.approximate;
    }
  }
  const built = await buildRequests(
    { rows: n, timeMs: new Float64Array(n), input, output, bad },
    {
      time: "time",
      input: "prompt",
      output: "output_tokens",
      timeExpected: "none",
      timeUnitMs: 1,
    },
    opts,
    (k, req) => {
      req.prompt = { kind: "text", text: String(prompts[k].p) };
      if (!opts.countTokens) req.approximateLengths = true;
    },
  );
  return finishRead(path, opts, built, {
    findings,
    records: lines.records,
    locate: (recs) => Promise.resolve(new Map(recs.map((r) => [r, line[r]]))),
    timed: false,
    lengths: approximate ? "approximate" : "counted",
  });
}
