import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { readTrace, type TraceRequest } from "../../workloads/mod.ts";
import { BURST_HEADER, fixture } from "./_fixture.ts";

const pick = (rs: TraceRequest[], ...keys: (keyof TraceRequest)[]) =>
  rs.map((r) => keys.map((k) => r[k]));

Deno.test("readTrace() reads BurstGPT CSV", async (t) => {
  const six = BURST_HEADER +
    "5,ChatGPT,472,18,490,Conversation log\n45,ChatGPT,1087,0,1087,Conversation log\n" +
    "118,GPT-4,417,276,693,API log\n118.5,ChatGPT,10,3,13,API log\n";
  await t.step(
    "6 columns: seconds, 0 response tokens are source failures (dropped)",
    async () => {
      const w = await readTrace(await fixture("b.csv", six));
      assert.equal(w.source.format, "burstgpt");
      assert.deepEqual(
        pick(w.requests, "id", "arrivalMs", "inputTokens", "outputTokens"),
        [
          ["0", 0, 472, 18],
          ["2", 113000, 417, 276],
          ["3", 113500, 10, 3],
        ],
      );
      assert.equal(w.sourceFailures, 1);
    },
  );
  await t.step("source failures kept and flagged", async () => {
    const w = await readTrace(await fixture("b.csv", six), {
      sourceFailures: "keep",
    });
    assert.deepEqual(pick(w.requests, "id", "sourceFailed"), [
      ["0", undefined],
      ["1", true],
      ["2", undefined],
      ["3", undefined],
    ]);
  });
  await t.step("Model and Log Type filters", async () => {
    const w = await readTrace(await fixture("b.csv", six), {
      models: ["ChatGPT"],
      logTypes: ["API log"],
    });
    assert.deepEqual(pick(w.requests, "id", "arrivalMs"), [["3", 0]]);
    assert.equal(w.filtered, 3);
  });
  await t.step(
    "8 columns with Session ID and Elapsed time: sessions and turns",
    async () => {
      const w = await readTrace(
        await fixture(
          "b8.csv",
          "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n" +
            "0,s1,1.5,GPT-4,100,10,110,Conversation log\n10,s2,2,GPT-4,200,20,220,Conversation log\n" +
            "20,s1,1,ChatGPT,300,30,330,Conversation log\n",
        ),
      );
      assert.deepEqual(pick(w.requests, "arrivalMs", "sessionId", "turn"), [
        [0, "s1", 0],
        [10000, "s2", 0],
        [20000, "s1", 1],
      ]);
    },
  );
});

Deno.test("readTrace() reads AIPerf's superset of Mooncake JSONL", async (t) => {
  await t.step(
    "sessions with delay: think time and open-loop arrivals",
    async () => {
      const w = await readTrace(
        await fixture(
          "a.jsonl",
          '{"session_id": "a", "input_length": 100, "output_length": 5}\n' +
            '{"session_id": "b", "input_length": 50, "output_length": 5}\n' +
            '{"session_id": "a", "delay": 2000, "input_length": 600, "output_length": 7, "hash_ids": [1, 2]}\n',
        ),
      );
      assert.deepEqual(
        pick(
          w.requests,
          "id",
          "arrivalMs",
          "sessionId",
          "turn",
          "thinkTimeMs",
          "prefixBlocks",
        ),
        [
          ["0", 0, "a", 0, undefined, undefined],
          ["1", 0, "b", 0, undefined, undefined],
          ["2", 2000, "a", 1, 2000, [1, 2]],
        ],
      );
      assert.equal(w.timed, true);
    },
  );
  await t.step(
    "text_input and messages: prompts kept, lengths estimated without a tokenizer",
    async () => {
      const w = await readTrace(
        await fixture(
          "t.jsonl",
          '{"timestamp": 0, "text_input": "Write a haiku about caches", "output_length": 20}\n' +
            '{"timestamp": 5, "messages": [{"role": "system", "content": "Be brief"}, ' +
            '{"role": "user", "content": "Hi there"}], "output_length": 8}\n',
        ),
      );
      assert.deepEqual(
        pick(w.requests, "inputTokens", "prompt", "approximateLengths"),
        [
          [7, { kind: "text", text: "Write a haiku about caches" }, true],
          [
            5,
            {
              kind: "chat",
              messages: [{ role: "system", content: "Be brief" }, {
                role: "user",
                content: "Hi there",
              }],
            },
            true,
          ],
        ],
      );
      assert.equal(w.lengths, "approximate");
    },
  );
  await t.step("with a token counter, lengths are counted", async () => {
    const w = await readTrace(
      await fixture(
        "t.jsonl",
        '{"timestamp": 0, "text_input": "a b c", "output_length": 2}\n',
      ),
      { countTokens: (s) => s.split(" ").length },
    );
    assert.deepEqual(pick(w.requests, "inputTokens", "approximateLengths"), [[
      3,
      undefined,
    ]]);
    assert.equal(w.lengths, "counted");
  });
});

Deno.test("readTrace() reads ShareGPT JSON", async (t) => {
  const data = JSON.stringify([
    {
      id: "c1",
      conversations: [
        { from: "human", value: "What is KV cache?" },
        { from: "gpt", value: "It stores keys and values." },
        { from: "human", value: "Why?" },
        { from: "gpt", value: "To avoid recomputation." },
      ],
    },
    { id: "c2", conversations: [{ from: "gpt", value: "Hello" }] },
    {
      id: "c3",
      conversations: [{ from: "human", value: "Hi" }, {
        from: "gpt",
        value: "Hey",
      }],
    },
  ]);
  const count = (s: string) => s.split(/\s+/).length;
  await t.step(
    "first turn: one request per conversation, others filtered",
    async () => {
      const w = await readTrace(await fixture("s.json", data), {
        countTokens: count,
      });
      assert.equal(w.source.format, "sharegpt");
      assert.deepEqual(
        pick(w.requests, "id", "inputTokens", "outputTokens", "prompt"),
        [
          ["0", 4, 5, { kind: "text", text: "What is KV cache?" }],
          ["2", 1, 1, { kind: "text", text: "Hi" }],
        ],
      );
      assert.equal(w.filtered, 1);
      assert.equal(w.timed, false);
    },
  );
  await t.step(
    "sessions: every human turn, the chat so far as the prompt",
    async () => {
      const w = await readTrace(await fixture("s.json", data), {
        countTokens: count,
        sharegpt: "sessions",
      });
      assert.deepEqual(
        pick(
          w.requests,
          "id",
          "sessionId",
          "turn",
          "inputTokens",
          "outputTokens",
        ),
        [
          ["0.0", "c1", 0, 4, 5],
          ["0.1", "c1", 1, 10, 3],
          ["2.0", "c3", 0, 1, 1],
        ],
      );
      const p = w.requests[1].prompt;
      assert.equal(p?.kind === "chat" && p.messages.length, 3);
    },
  );
});

Deno.test("readTrace() reads vLLM custom JSONL and Vidur CSV", async (t) => {
  await t.step(
    "vLLM custom: prompt and output_tokens (default 256)",
    async () => {
      const w = await readTrace(
        await fixture(
          "v.jsonl",
          '{"prompt": "one two three", "output_tokens": 64}\n{"prompt": "four"}\n',
        ),
        { countTokens: (s) => s.split(" ").length },
      );
      assert.equal(w.source.format, "vllm-custom");
      assert.deepEqual(
        pick(w.requests, "inputTokens", "outputTokens", "arrivalMs"),
        [
          [3, 64, 0],
          [1, 256, 0],
        ],
      );
    },
  );
  await t.step("Vidur: arrived_at seconds", async () => {
    const w = await readTrace(
      await fixture(
        "v.csv",
        "arrived_at,num_prefill_tokens,num_decode_tokens\n1.5,100,10\n2.25,80,4\n",
      ),
    );
    assert.deepEqual(
      pick(w.requests, "arrivalMs", "inputTokens", "outputTokens"),
      [
        [0, 100, 10],
        [750, 80, 4],
      ],
    );
  });
});

Deno.test("readTrace() reads generic CSV, JSONL and Parquet with a mapping and time unit", async (t) => {
  const cols = { time: "t", input: "in", output: "out", session: "s" };
  await t.step("CSV in microseconds with sessions", async () => {
    const w = await readTrace(
      await fixture("g.csv", "t,in,out,s\n1000000,10,1,x\n1500000,20,2,x\n"),
      { columns: cols, timeUnit: "us" },
    );
    assert.equal(w.source.format, "generic");
    assert.deepEqual(
      pick(w.requests, "arrivalMs", "inputTokens", "sessionId", "turn"),
      [
        [0, 10, "x", 0],
        [500, 20, "x", 1],
      ],
    );
  });
  await t.step("JSONL with ISO date-times and hash ids", async () => {
    const w = await readTrace(
      await fixture(
        "g.jsonl",
        '{"t": "2024-05-10T00:00:00.250Z", "in": 5, "out": 1, "h": [3]}\n' +
          '{"t": "2024-05-10T00:00:01Z", "in": 6, "out": 2, "h": [3, 4]}\n',
      ),
      {
        columns: { time: "t", input: "in", output: "out", hashIds: "h" },
        timeUnit: "datetime",
      },
    );
    assert.deepEqual(pick(w.requests, "arrivalMs", "prefixBlocks"), [[0, [3]], [
      750,
      [3, 4],
    ]]);
  });
  await t.step("Parquet in nanoseconds", async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/g.parquet`;
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(
      `copy (select * from (values (2000000::bigint, 7, 3), (5000000, 8, 4)) v(t, "in", out))
       to '${path}' (format parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    const w = await readTrace(path, {
      columns: { time: "t", input: "in", output: "out" },
      timeUnit: "ns",
    });
    assert.deepEqual(pick(w.requests, "arrivalMs", "inputTokens"), [[0, 7], [
      3,
      8,
    ]]);
  });
  await t.step("no time column: an untimed trace", async () => {
    const w = await readTrace(await fixture("g.csv", "in,out\n3,1\n4,2\n"), {
      columns: { input: "in", output: "out" },
    });
    assert.equal(w.timed, false);
    assert.deepEqual(pick(w.requests, "arrivalMs"), [[0], [0]]);
  });
});
