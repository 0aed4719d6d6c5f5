import assert from "node:assert/strict";
import { readTrace, type ReadTraceOptions } from "../../workloads/mod.ts";
import { AZURE_HEADER, fixture } from "./_fixture.ts";

const T0 = "2023-11-16 18:15:46.68,374,44\n";
const MC = (rest: string) => `{"timestamp": 0, ${rest}}\n`;

/** [case, file name, content, options, message after `Trace "<path>"`]. */
const CASES: [string, string, string, ReadTraceOptions, string][] = [
  [
    "an output length beyond any model",
    "a.jsonl",
    MC('"input_length": 10, "output_length": 1e15'),
    {},
    ', line 1, field "output_length": expected an integer token count in [0, 16777216] (16 Mi tokens, beyond every model\'s context), got 1000000000000000',
  ],
  [
    "a context length beyond any model",
    "a.csv",
    AZURE_HEADER + T0 + "2023-11-16 18:15:47.0,1000000000,44\n",
    {},
    ', line 3, field "ContextTokens": expected an integer token count in [0, 16777216] (16 Mi tokens, beyond every model\'s context), got 1000000000',
  ],
  [
    "NaN is named, not read as missing",
    "a.jsonl",
    MC('"input_length": NaN, "output_length": 3'),
    {},
    ', line 1, field "input_length": expected an integer token count >= 0, got NaN',
  ],
  [
    "a time beyond the run clock's range",
    "a.csv",
    "t,a,b\n0,10,5\n1e22,10,5\n",
    { columns: { time: "t", input: "a", output: "b" }, timeUnit: "ns" },
    ', line 3, field "t": expected nanoseconds >= 0 and at most 4611686018427388000 (2^62 ns: what the run clock holds), got 1e+22',
  ],
  [
    "a wall-clock time centuries away",
    "a.csv",
    AZURE_HEADER + T0 + "2900-11-16 18:15:47.0,5,5\n",
    {},
    ', line 3, field "TIMESTAMP": expected a time within 146 years (2^62 ns: what the run clock holds) of the first record\'s, got "2900-11-16 18:15:47.0"',
  ],
  [
    "hash_ids that are not an array",
    "a.jsonl",
    MC('"input_length": 10, "output_length": 5, "hash_ids": "abc"'),
    {},
    ', line 1, field "hash_ids": expected an array of integer block ids, got "abc"',
  ],
  [
    "hash_ids that contradict the length",
    "a.jsonl",
    MC('"input_length": 1000, "output_length": 5, "hash_ids": [1, 2, 3, 4, 5]'),
    {},
    ', line 1, field "hash_ids": expected 2 block ids for input_length 1000 in blocks of 512 tokens (--block-size), got 5',
  ],
  [
    "a key given twice",
    "a.jsonl",
    MC('"input_length": 10, "output_length": 5') +
    '{"timestamp": 1, "timestamp": 7, "input_length": 10, "output_length": 5}\n',
    {},
    ', line 2, field "timestamp": expected each key once, got "timestamp" 2 times (which value is meant is ambiguous)',
  ],
];

Deno.test("readTrace() range-checks every field against what a run can do", async (t) => {
  for (const [name, file, text, opts, message] of CASES) {
    await t.step(name, async () => {
      const path = await fixture(file, text);
      await assert.rejects(
        readTrace(path, opts),
        (e: Error) => {
          assert.equal(e.name, "TraceError");
          assert.equal(e.message, `Trace "${path}"${message}`);
          return true;
        },
      );
    });
  }
});

Deno.test("readTrace() skips out-of-range rows under --on-bad-row skip and counts them", async () => {
  const path = await fixture(
    "a.jsonl",
    MC('"input_length": 10, "output_length": 5') +
      MC('"input_length": 10, "output_length": 1e15') +
      MC('"input_length": 10, "output_length": 5, "hash_ids": "abc"'),
  );
  const w = await readTrace(path, { onBadRow: "skip" });
  assert.equal(w.requests.length, 1);
  assert.deepEqual(w.skipped.count, 2);
  assert.deepEqual(w.skipped.examples.map((e) => [e.line, e.field]), [
    [2, "output_length"],
    [3, "hash_ids"],
  ]);
});
