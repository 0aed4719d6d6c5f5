import assert from "node:assert/strict";
import { detectFormat, readTrace, TraceError } from "../../workloads/mod.ts";
import { AZURE_HEADER, fixture } from "./_fixture.ts";

const arrivals = (w: { requests: { id: string; arrivalMs: number }[] }) =>
  w.requests.map((r) => [r.id, r.arrivalMs]);

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
    assert.equal(w.details.first_timestamp_raw, "2023-11-16 18:15:46.6805900");
    assert.equal(w.details.last_timestamp_raw, "2023-11-16 18:15:50.9951690");
  });
  await t.step(
    "mixed precision and +00:00 suffix (2024 files), CRLF",
    async () => {
      const p = await fixture(
        "b.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2024-05-10 00:00:00+00:00,1,1\r\n2024-05-10 00:00:00.5+00:00,2,2\r\n",
      );
      assert.deepEqual((await readTrace(p)).requests.map((r) => r.arrivalMs), [
        0,
        500,
      ]);
    },
  );
  await t.step("UTF-8 BOM before the header", async () => {
    const p = await fixture(
      "bom.csv",
      "\uFEFF" + AZURE_HEADER + "2024-05-10 00:00:01,3,4\n",
    );
    const w = await readTrace(p);
    assert.deepEqual(w.requests.map((r) => [r.inputTokens, r.outputTokens]), [[
      3,
      4,
    ]]);
  });
  await t.step("2025 multimodal: NumImages, any column order", async () => {
    const p = await fixture(
      "mm.csv",
      "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-15 00:00:00.0000000,2,1500,30\n" +
        "2024-10-15 00:00:00.2500000,0,80,5\n",
    );
    const w = await readTrace(p);
    assert.deepEqual(
      w.requests.map((r) => [r.arrivalMs, r.numImages, r.inputTokens]),
      [[0, 2, 1500], [250, 0, 80]],
    );
  });
  await t.step(
    "gzip-compressed CSV (the 2025 trace is published so)",
    async () => {
      const csv = new TextEncoder().encode(
        "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-15 00:00:00,1,10,2\n2024-10-15 00:00:03,0,20,4\n",
      );
      const gz = new Uint8Array(
        await new Response(
          new Blob([csv]).stream().pipeThrough(new CompressionStream("gzip")),
        )
          .arrayBuffer(),
      );
      const w = await readTrace(await fixture("mm.csv.gz", gz));
      assert.equal(w.source.format, "azure-llm");
      assert.deepEqual(w.requests.map((r) => r.arrivalMs), [0, 3000]);
    },
  );
  await t.step(
    "unsorted rows with sortByTime: sorted, ids keep file order",
    async () => {
      const p = await fixture(
        "c.csv",
        AZURE_HEADER + "2023-11-16 18:00:01.0,1,1\n2023-11-16 18:00:00.0,2,2\n",
      );
      assert.deepEqual(arrivals(await readTrace(p, { sortByTime: true })), [[
        "1",
        0,
      ], ["0", 1000]]);
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
  assert.deepEqual(w.details.record_keys, {
    "hash_ids,input_length,output_length,timestamp": 2,
  });
});

Deno.test("readTrace() records the source file, its checksum and the options used", async () => {
  const text = '{"timestamp": 0, "input_length": 5, "output_length": 1}\n';
  const p = await fixture("s.jsonl", text);
  const w = await readTrace(p, { blockSize: 64 });
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  assert.deepEqual(w.source, {
    path: p,
    format: "mooncake",
    bytes: text.length,
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    rows: 1,
  });
  assert.equal(w.options.blockSize, 64);
  assert.equal(w.options.tokenizer, false);
});

Deno.test("detectFormat() names the format from the first line", async (t) => {
  const cases: [string, string, string][] = [
    ["x.csv", "TIMESTAMP,ContextTokens,GeneratedTokens", "azure-llm"],
    ["x.csv", "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens", "azure-llm"],
    [
      "x.csv",
      "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
      "burstgpt",
    ],
    [
      "x.csv",
      "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type",
      "burstgpt",
    ],
    ["x.csv", "arrived_at,num_prefill_tokens,num_decode_tokens", "vidur"],
    [
      "x.jsonl",
      '{"timestamp": 0, "input_length": 1, "output_length": 1}',
      "mooncake",
    ],
    [
      "x.jsonl",
      '{"session_id": "a", "delay": 5, "text_input": "hi"}',
      "mooncake",
    ],
    ["x.jsonl", '{"prompt": "hi", "output_tokens": 3}', "vllm-custom"],
    ["x.json", '[{"id": "a", "conversations": []}]', "sharegpt"],
  ];
  for (const [name, head, want] of cases) {
    await t.step(want + ": " + head.slice(0, 40), () => {
      assert.equal(
        detectFormat(name, new TextEncoder().encode(head + "\n")),
        want,
      );
    });
  }
});

Deno.test("readTrace() rejects what it cannot read with file and line", async (t) => {
  const cases: [string, string, string, string][] = [
    [
      "unknown format",
      "x.txt",
      "hello,world\n1,2\n",
      'line 1: cannot detect the trace format from "hello,world": expected an Azure LLM, BurstGPT or ' +
      "Vidur CSV header, a Mooncake/AIPerf or vLLM custom JSON line, or a ShareGPT JSON array; " +
      "pass --format azure-llm|burstgpt|mooncake|sharegpt|vllm-custom|vidur|generic (generic with --columns)",
    ],
    ["empty file", "x.csv", "", ": the file is empty: expected trace records"],
    [
      "header only",
      "x.csv",
      AZURE_HEADER,
      ": the file has no records (a header or blank lines only): expected trace records",
    ],
    [
      "blank lines only",
      "x.jsonl",
      "\n\r\n\n",
      ": the file has no records (a header or blank lines only): expected trace records",
    ],
  ];
  for (const [name, file, text, detail] of cases) {
    await t.step(name, async () => {
      const p = await fixture(file, text);
      await assert.rejects(readTrace(p), (e: unknown) => {
        assert.ok(e instanceof TraceError);
        assert.equal(
          e.message,
          `Trace "${p}"${detail.startsWith(":") ? "" : ", "}${detail}`,
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
  await t.step("unknown --format", async () => {
    const p = await fixture(
      "x.csv",
      AZURE_HEADER + "2024-01-01 00:00:00,1,1\n",
    );
    await assert.rejects(
      readTrace(p, { format: "csv" }),
      new TraceError(
        { path: p },
        'unknown format "csv": expected one of azure-llm, burstgpt, mooncake, sharegpt, vllm-custom, vidur, generic',
      ),
    );
  });
});
