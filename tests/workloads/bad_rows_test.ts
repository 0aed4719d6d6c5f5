import assert from "node:assert/strict";
import {
  readTrace,
  type ReadTraceOptions,
  TraceError,
} from "../../workloads/mod.ts";
import { AZURE_HEADER, BURST_HEADER, fixture } from "./_fixture.ts";

const T0 = "2023-11-16 18:15:46.68,374,44\n";
const GENERIC = { columns: { time: "t", input: "a", output: "b" } };

/** [case, file name, content, options, message after `Trace "<path>"`]. */
const CASES: [string, string, string, ReadTraceOptions, string][] = [
  [
    "CSV truncated line (a column missing)",
    "a.csv",
    AZURE_HEADER + T0 + "2023-11-16 18:15:47.0,879\n",
    {},
    ', line 3: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), got 2 in "2023-11-16 18:15:47.0,879"',
  ],
  [
    "CSV extra column",
    "a.csv",
    AZURE_HEADER + "2023-11-16 18:15:47.0,1,1,9\n",
    {},
    ', line 2: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), got 4 in "2023-11-16 18:15:47.0,1,1,9"',
  ],
  [
    "CSV wrong type",
    "a.csv",
    AZURE_HEADER + T0 + "2023-11-16 18:15:47.0,abc,109\n",
    {},
    ', line 3, field "ContextTokens": expected an integer token count >= 0, got "abc"',
  ],
  [
    "CSV non-integer count",
    "a.csv",
    AZURE_HEADER + "2023-11-16 18:15:46.68,3.5,44\n",
    {},
    ', line 2, field "ContextTokens": expected an integer token count >= 0, got 3.5',
  ],
  [
    "CSV negative count after a blank line",
    "a.csv",
    AZURE_HEADER + T0 + "\n2023-11-16 18:15:47.0,5,-3\n",
    {},
    ', line 4, field "GeneratedTokens": expected an integer token count >= 0, got -3',
  ],
  [
    "CSV missing count",
    "a.csv",
    AZURE_HEADER + "2023-11-16 18:15:46.68,,44\n",
    {},
    ', line 2, field "ContextTokens": expected an integer token count >= 0, got nothing (missing)',
  ],
  [
    "CSV bad timestamp",
    "a.csv",
    AZURE_HEADER + "16/11/2023 18:15,374,44\n",
    {},
    ', line 2, field "TIMESTAMP": expected "YYYY-MM-DD HH:MM:SS[.fffffff]", got "16/11/2023 18:15"',
  ],
  [
    "CSV impossible date",
    "a.csv",
    AZURE_HEADER + "2023-13-45 18:15:47.0,1,1\n",
    {},
    ', line 2, field "TIMESTAMP": expected "YYYY-MM-DD HH:MM:SS[.fffffff]", got "2023-13-45 18:15:47.0"',
  ],
  [
    "CSV non-monotonic times, CRLF",
    "a.csv",
    AZURE_HEADER.replace("\n", "\r\n") +
    "2023-11-16 18:15:47.0,1,1\r\n2023-11-16 18:15:46.5,1,1\r\n",
    {},
    ', line 3, field "TIMESTAMP": expected a time >= "2023-11-16 18:15:47.0" (an earlier record\'s), got ' +
    '"2023-11-16 18:15:46.5": the records are not in time order; pass --sort-by-time to replay them sorted',
  ],
  [
    "CSV missing column in the header",
    "a.csv",
    "TIMESTAMP,ContextTokens\n2023-11-16 18:15:47.0,1\n",
    { format: "azure-llm" },
    ', line 1: missing column "GeneratedTokens": expected a header with TIMESTAMP,ContextTokens,GeneratedTokens, ' +
    'got "TIMESTAMP,ContextTokens"',
  ],
  [
    "BurstGPT negative timestamp",
    "b.csv",
    BURST_HEADER +
    "5,ChatGPT,10,2,12,Conversation log\n-1,ChatGPT,10,2,12,Conversation log\n",
    {},
    ', line 3, field "Timestamp": expected seconds >= 0, got -1',
  ],
  [
    "BurstGPT model filter on a file without Model",
    "b.csv",
    "Timestamp,Request tokens,Response tokens\n5,10,2\n",
    { format: "burstgpt", models: ["GPT-4"] },
    ', line 1: --filter-model filters column "Model", which this file lacks: expected a header with "Model", ' +
    'got "Timestamp,Request tokens,Response tokens"',
  ],
  [
    "BurstGPT filter that matches nothing",
    "b.csv",
    BURST_HEADER + "5,ChatGPT,10,2,12,Conversation log\n",
    { models: ["GPT-5"] },
    ': no row matches the filters (models ["GPT-5"], log types "any"): the file has models ChatGPT and ' +
    "log types Conversation log",
  ],
  [
    "Vidur negative decode tokens",
    "d.csv",
    "arrived_at,num_prefill_tokens,num_decode_tokens\n0.5,10,-1\n",
    {},
    ', line 2, field "num_decode_tokens": expected an integer token count >= 0, got -1',
  ],
  [
    "generic CSV mapped column absent",
    "g.csv",
    "t,a,b\n1,2,3\n",
    { columns: { time: "t", input: "a", output: "c" } },
    ', line 1: missing column "c": expected a header with t,a,c, got "t,a,b"',
  ],
  [
    "generic CSV wrong type",
    "g.csv",
    "t,a,b\n1,2,3\n1.5,x,3\n",
    GENERIC,
    ', line 3, field "a": expected an integer token count >= 0, got "x"',
  ],
  [
    "JSONL truncated line",
    "m.jsonl",
    '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5\n',
    {},
    ", line 2: expected a JSON object, got invalid JSON (Expected ',' or '}' after property value " +
    'in JSON at position 34 (line 1 column 35)) in "{\\"timestamp\\": 1, \\"input_length\\": 5"',
  ],
  [
    "JSONL line that is not an object, BOM and CRLF",
    "m.jsonl",
    '\uFEFF{"timestamp": 0, "input_length": 5, "output_length": 3}\r\n[1,2]\r\n',
    {},
    ', line 2: expected a JSON object in "[1,2]"',
  ],
  [
    "JSONL missing count",
    "m.jsonl",
    '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5}\n',
    {},
    ', line 2, field "output_length": expected an integer token count >= 0, got nothing (missing)',
  ],
  [
    "JSONL wrong type",
    "m.jsonl",
    '{"timestamp": 0, "input_length": "abc", "output_length": 3}\n',
    {},
    ', line 1, field "input_length": expected an integer token count >= 0, got "abc"',
  ],
  [
    "JSONL negative timestamp",
    "m.jsonl",
    '{"timestamp": -3, "input_length": 5, "output_length": 3}\n',
    {},
    ', line 1, field "timestamp": expected milliseconds >= 0, got -3',
  ],
  [
    "JSONL non-monotonic times",
    "m.jsonl",
    '{"timestamp": 10, "input_length": 5, "output_length": 3}\n\n{"timestamp": 5, "input_length": 5, "output_length": 3}\n',
    {},
    ', line 3, field "timestamp": expected a time >= 10 (an earlier record\'s), got 5: the records are not ' +
    "in time order; pass --sort-by-time to replay them sorted",
  ],
  [
    "JSONL hash ids that are not integers",
    "m.jsonl",
    '{"timestamp": 0, "input_length": 5, "output_length": 3, "hash_ids": [1, "x"]}\n',
    {},
    ', line 1, field "hash_ids": expected an array of integer block ids, got [1,"x"]',
  ],
  [
    "vLLM custom prompt that is not a string",
    "v.jsonl",
    '{"prompt": "hi"}\n{"prompt": 5}\n',
    {},
    ', line 2, field "prompt": expected a string, got 5',
  ],
  [
    "generic JSONL wrong time type",
    "g.jsonl",
    '{"t": 1, "a": 2, "b": 3}\n{"t": "x", "a": 2, "b": 3}\n',
    GENERIC,
    ', line 2, field "t": expected seconds >= 0, got "x"',
  ],
];

Deno.test("readTrace() rejects a bad row with file, line, field, value seen and expected", async (t) => {
  for (const [name, file, text, opts, detail] of CASES) {
    await t.step(name, async () => {
      const p = await fixture(file, text);
      await assert.rejects(readTrace(p, opts), (e: unknown) => {
        assert.ok(e instanceof TraceError, String(e));
        assert.equal(e.message, `Trace "${p}"${detail}`);
        return true;
      });
    });
  }
});

Deno.test("readTrace() with onBadRow skip leaves bad rows out and counts them", async (t) => {
  await t.step("CSV: rejects, bad values and times going back", async () => {
    const p = await fixture(
      "s.csv",
      AZURE_HEADER + T0 +
        "2023-11-16 18:15:47.0,abc,109\nx,1,1\n2023-11-16 18:15:48.0,5\n\n" +
        "2023-11-16 18:15:49.0,5,-3\n2023-11-16 18:15:45.0,5,3\n2023-11-16 18:15:50.0,5,3\n",
    );
    const w = await readTrace(p, { onBadRow: "skip" });
    assert.deepEqual(w.requests.map((r) => [r.id, r.arrivalMs]), [["0", 0], [
      "4",
      3320,
    ]]);
    assert.equal(w.source.rows, 7);
    assert.deepEqual(w.skipped, {
      count: 5,
      examples: [
        {
          line: 3,
          field: "ContextTokens",
          reason: 'expected an integer token count >= 0, got "abc"',
        },
        {
          line: 4,
          field: "TIMESTAMP",
          reason: 'expected "YYYY-MM-DD HH:MM:SS[.fffffff]", got "x"',
        },
        {
          line: 5,
          reason:
            'expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), got 2 in "2023-11-16 18:15:48.0,5"',
        },
        {
          line: 7,
          field: "GeneratedTokens",
          reason: "expected an integer token count >= 0, got -3",
        },
        {
          line: 8,
          field: "TIMESTAMP",
          reason:
            'expected a time >= "2023-11-16 18:15:46.68" (an earlier record\'s), got ' +
            '"2023-11-16 18:15:45.0": the records are not in time order; pass --sort-by-time to replay them sorted',
        },
      ],
    });
  });
  await t.step("JSONL: invalid JSON, wrong types, missing counts", async () => {
    const p = await fixture(
      "s.jsonl",
      '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5\n' +
        '{"timestamp": 2, "input_length": "x", "output_length": 3}\n{"timestamp": 3, "input_length": 5}\n' +
        '{"timestamp": 4, "input_length": 7, "output_length": 1}\n',
    );
    const w = await readTrace(p, { onBadRow: "skip" });
    assert.deepEqual(w.requests.map((r) => [r.arrivalMs, r.inputTokens]), [[
      0,
      5,
    ], [4, 7]]);
    assert.equal(w.skipped.count, 3);
    assert.deepEqual(w.skipped.examples.map((e) => [e.line, e.field]), [
      [2, undefined],
      [3, "input_length"],
      [4, "output_length"],
    ]);
  });
  await t.step("many bad rows: all counted, 20 kept as examples", async () => {
    const rows = Array.from(
      { length: 50 },
      (_, i) => `2024-01-01 00:00:${String(i).padStart(2, "0")},-1,1`,
    );
    const p = await fixture(
      "many.csv",
      AZURE_HEADER + rows.join("\n") + "\n2024-01-01 00:01:00,1,1\n",
    );
    const w = await readTrace(p, { onBadRow: "skip" });
    assert.equal(w.requests.length, 1);
    assert.equal(w.skipped.count, 50);
    assert.equal(w.skipped.examples.length, 20);
    assert.equal(w.skipped.examples[19].line, 21);
  });
});
