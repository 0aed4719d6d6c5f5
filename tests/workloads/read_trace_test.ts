import assert from "node:assert/strict";
import { readTrace, TraceError } from "../../workloads/mod.ts";
import { sharedDir, sharedPath, skipReason } from "../_shared_data.ts";

async function fixture(name: string, text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-trace-" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

const AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

Deno.test("readTrace() reads Azure LLM CSV with exact 100 ns timestamps", async (t) => {
  await t.step("7-digit fractions, no trailing newline", async () => {
    const p = await fixture(
      "a.csv",
      AZURE_HEADER +
        "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:46.6805901,10,2\n2023-11-16 18:15:50.9951690,396,109",
    );
    const w = await readTrace(p);
    assert.equal(w.source.format, "azure-llm");
    assert.deepEqual(
      w.requests.map((r) => [r.id, r.arrivalMs, r.inputTokens, r.outputTokens]),
      [["0", 0, 374, 44], ["1", 0.0001, 10, 2], ["2", 4314.579, 396, 109]],
    );
  });
  await t.step(
    "mixed precision and +00:00 suffix (2024 files), CRLF",
    async () => {
      const p = await fixture(
        "b.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2024-05-10 00:00:00+00:00,1,1\r\n2024-05-10 00:00:00.5+00:00,2,2\r\n",
      );
      const w = await readTrace(p);
      assert.deepEqual(w.requests.map((r) => r.arrivalMs), [0, 500]);
    },
  );
  await t.step(
    "unsorted rows are sorted by time, ids keep file order",
    async () => {
      const p = await fixture(
        "c.csv",
        AZURE_HEADER + "2023-11-16 18:00:01.0,1,1\n2023-11-16 18:00:00.0,2,2\n",
      );
      const w = await readTrace(p);
      assert.deepEqual(w.requests.map((r) => [r.id, r.arrivalMs]), [["1", 0], [
        "0",
        1000,
      ]]);
    },
  );
});

Deno.test("readTrace() reads Mooncake JSONL with block hashes", async () => {
  const p = await fixture(
    "m.jsonl",
    '{"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]}\n' +
      '{"timestamp": 3000, "input_length": 10, "output_length": 1, "hash_ids": [0]}\n',
  );
  const w = await readTrace(p);
  assert.equal(w.source.format, "mooncake");
  assert.deepEqual(w.requests, [
    {
      id: "0",
      traceIndex: 0,
      arrivalMs: 0,
      inputTokens: 600,
      outputTokens: 5,
      prefixBlocks: [0, 1],
    },
    {
      id: "1",
      traceIndex: 1,
      arrivalMs: 3000,
      inputTokens: 10,
      outputTokens: 1,
      prefixBlocks: [0],
    },
  ]);
});

Deno.test("readTrace() rejects bad input with file, line and field", async (t) => {
  const cases: [string, string, string, string][] = [
    [
      "non-integer token count",
      "x.csv",
      AZURE_HEADER +
      "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.0,abc,109\n",
      'line 3, field "ContextTokens": expected an integer token count >= 0, got "abc"',
    ],
    [
      "missing column",
      "x.csv",
      AZURE_HEADER +
      "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.0,879\n",
      'line 3: Expected Number of Columns: 3 Found: 2 in "2023-11-16 18:15:47.0,879" (expected TIMESTAMP,ContextTokens,GeneratedTokens)',
    ],
    [
      "negative count",
      "x.csv",
      AZURE_HEADER +
      "2023-11-16 18:15:46.68,374,44\n\n2023-11-16 18:15:47.0,5,-3\n",
      'line 4, field "GeneratedTokens": expected an integer token count >= 0, got -3',
    ],
    [
      "bad timestamp",
      "x.csv",
      AZURE_HEADER + "16/11/2023 18:15,374,44\n",
      'line 2, field "TIMESTAMP": expected "YYYY-MM-DD HH:MM:SS[.fffffff]", got "16/11/2023 18:15"',
    ],
    [
      "truncated JSON line",
      "x.jsonl",
      '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5\n',
      "line 2: expected a JSON object, got invalid JSON (Expected ',' or '}' after property value " +
      "in JSON at position 34 (line 1 column 35)) in " +
      '"{\\"timestamp\\": 1, \\"input_length\\": 5"',
    ],
    [
      "missing output_length",
      "x.jsonl",
      '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5}\n',
      'line 2, field "output_length": expected an integer token count >= 0, got nothing (missing)',
    ],
    [
      "negative timestamp",
      "x.jsonl",
      '{"timestamp": -3, "input_length": 5, "output_length": 3}\n',
      'line 1, field "timestamp": expected milliseconds >= 0, got -3',
    ],
    [
      "unknown format",
      "x.txt",
      "hello,world\n1,2\n",
      'line 1: cannot detect the trace format from "hello,world": expected an Azure LLM CSV header ' +
      "(TIMESTAMP,ContextTokens,GeneratedTokens) or a Mooncake JSON line; pass --format azure-llm|mooncake",
    ],
    ["empty file", "x.csv", "", "the file is empty: expected trace records"],
  ];
  for (const [name, file, text, detail] of cases) {
    await t.step(name, async () => {
      const p = await fixture(file, text);
      await assert.rejects(readTrace(p), (e: unknown) => {
        assert.ok(e instanceof TraceError);
        assert.equal(
          e.message,
          `Trace "${p}", ${detail}`.replace(`"${p}", the`, `"${p}": the`),
        );
        return true;
      });
    });
  }
  await t.step("missing file", async () => {
    await assert.rejects(
      readTrace("/nonexistent/trace.csv"),
      new TraceError(
        { path: "/nonexistent/trace.csv" },
        "file not found: check the path, or pass --trace with an existing file",
      ),
    );
  });
});

interface TraceStats {
  n_requests: number;
  span_s: number;
  input_tokens: { sum: number };
  output_tokens: { sum: number };
}

Deno.test({
  name: "readTrace() matches stats.json for every staged trace",
  ignore: sharedDir() === null,
  fn: async (t) => {
    const stats = JSON.parse(
      await Deno.readTextFile(sharedPath("traces/stats.json")),
    ).files as Record<string, { stats: TraceStats }>;
    for (const [rel, { stats: s }] of Object.entries(stats)) {
      await t.step(rel, async () => {
        const w = await readTrace(sharedPath(`traces/${rel}`));
        assert.equal(w.requests.length, s.n_requests);
        const span = w.requests.at(-1)!.arrivalMs / 1000;
        assert.ok(
          Math.abs(span - s.span_s) <= 1e-6 * s.span_s,
          `span ${span} vs ${s.span_s}`,
        );
        assert.equal(
          w.requests.reduce((a, r) => a + r.inputTokens, 0),
          s.input_tokens.sum,
        );
        assert.equal(
          w.requests.reduce((a, r) => a + r.outputTokens, 0),
          s.output_tokens.sum,
        );
      });
    }
  },
});
if (skipReason) console.warn(`read_trace_test: ${skipReason}`);
