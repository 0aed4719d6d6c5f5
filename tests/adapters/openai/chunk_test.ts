import assert from "node:assert/strict";
import { interpretChunk } from "../../../adapters/openai/chunk.ts";
import { chatChunk, USAGE_CHUNK } from "./_fixtures.ts";

Deno.test("interpretChunk() turns one stream payload into typed items", async (t) => {
  await t.step("role-only delta is not a token", () => {
    assert.deepEqual(interpretChunk(chatChunk({ role: "assistant" })), []);
    assert.deepEqual(
      interpretChunk(chatChunk({ role: "assistant", content: "" })),
      [],
    );
  });

  await t.step("empty content and null content are not tokens", () => {
    assert.deepEqual(interpretChunk(chatChunk({ content: "" })), []);
    assert.deepEqual(interpretChunk(chatChunk({ content: null })), []);
    assert.deepEqual(
      interpretChunk(
        '{"choices":[{"index":0,"text":"","finish_reason":null}]}',
      ),
      [],
    );
  });

  await t.step("chat content is one content token", () => {
    assert.deepEqual(interpretChunk(chatChunk({ content: "héllo" })), [
      { kind: "tokens", channel: "content", count: 1, text: "héllo" },
    ]);
  });

  await t.step(
    "completions text is one content token, with its finish reason",
    () => {
      assert.deepEqual(
        interpretChunk(
          '{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":" 世界","finish_reason":"length"}]}',
        ),
        [
          { kind: "tokens", channel: "content", count: 1, text: " 世界" },
          { kind: "finish", reason: "length" },
        ],
      );
    },
  );

  await t.step(
    "reasoning_content and reasoning are the reasoning channel, counted once per chunk",
    () => {
      assert.deepEqual(
        interpretChunk(chatChunk({ reasoning_content: "Hmm" })),
        [
          { kind: "tokens", channel: "reasoning", count: 1, text: "Hmm" },
        ],
      );
      assert.deepEqual(interpretChunk(chatChunk({ reasoning: "Hmm" })), [
        { kind: "tokens", channel: "reasoning", count: 1, text: "Hmm" },
      ]);
      assert.deepEqual(
        interpretChunk(
          chatChunk({ reasoning: "Hmm", reasoning_content: "Hmm" }),
        ),
        [
          { kind: "tokens", channel: "reasoning", count: 1, text: "Hmm" },
        ],
      );
    },
  );

  await t.step(
    "reasoning and content in one chunk are one token on each channel",
    () => {
      assert.deepEqual(
        interpretChunk(chatChunk({ reasoning_content: "so", content: "Yes" })),
        [
          { kind: "tokens", channel: "reasoning", count: 1, text: "so" },
          { kind: "tokens", channel: "content", count: 1, text: "Yes" },
        ],
      );
    },
  );

  await t.step(
    "tool call deltas are the tool channel (arguments, else the function name)",
    () => {
      const named = {
        tool_calls: [{
          index: 0,
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: "" },
        }],
      };
      assert.deepEqual(interpretChunk(chatChunk(named)), [
        { kind: "tokens", channel: "tool", count: 1, text: "get_weather" },
      ]);
      const args = {
        tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }],
      };
      assert.deepEqual(interpretChunk(chatChunk(args)), [
        { kind: "tokens", channel: "tool", count: 1, text: '{"city": "Par' },
      ]);
      assert.deepEqual(interpretChunk(chatChunk({ tool_calls: [] })), []);
    },
  );

  await t.step("usage-only chunk with empty choices", () => {
    assert.deepEqual(interpretChunk(USAGE_CHUNK), [
      { kind: "usage", promptTokens: 12, completionTokens: 5, cachedTokens: 8 },
    ]);
    assert.deepEqual(
      interpretChunk(
        '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}',
      ),
      [{ kind: "usage", promptTokens: 3, completionTokens: 0 }],
    );
    assert.deepEqual(interpretChunk('{"choices":[],"usage":null}'), []);
  });

  await t.step("impossible usage is a protocol error", () => {
    const cases: [string, string][] = [
      [
        '{"prompt_tokens":8,"completion_tokens":-7}',
        "usage.completion_tokens: expected an integer token count in [0, 2147483647], got -7",
      ],
      [
        '{"prompt_tokens":8.5,"completion_tokens":2}',
        "usage.prompt_tokens: expected an integer token count in [0, 2147483647], got 8.5",
      ],
      [
        '{"prompt_tokens":8,"completion_tokens":1e15}',
        "usage.completion_tokens: expected an integer token count in [0, 2147483647], got 1000000000000000",
      ],
      [
        '{"prompt_tokens":8,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":9}}',
        "usage.prompt_tokens_details.cached_tokens: expected an integer token count in [0, 8], got 9",
      ],
    ];
    for (const [usage, message] of cases) {
      assert.deepEqual(
        interpretChunk(`{"choices":[{"text":"a"}],"usage":${usage}}`, 4),
        [
          { kind: "tokens", channel: "content", count: 1, text: "a" },
          {
            kind: "error",
            errorKind: "protocol",
            message: `Stream event 4: ${message}`,
          },
        ],
      );
    }
  });

  await t.step("finish reason and usage in the last content chunk", () => {
    const last =
      '{"choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":9}}';
    assert.deepEqual(interpretChunk(last), [
      { kind: "tokens", channel: "content", count: 1, text: "." },
      { kind: "finish", reason: "stop" },
      { kind: "usage", promptTokens: 4, completionTokens: 9 },
    ]);
  });

  await t.step('error object mid-stream ({"error": {...}}, vLLM)', () => {
    const data =
      '{"error":{"object":"error","message":"The decoder prompt is too long","type":"BadRequestError","param":null,"code":400}}';
    assert.deepEqual(interpretChunk(data, 3), [{
      kind: "error",
      errorKind: "stream",
      message:
        "Stream event 3: server error: The decoder prompt is too long (type BadRequestError, code 400)",
    }]);
  });

  await t.step(
    'error object mid-stream ({"object": "error"}, older vLLM and SGLang)',
    () => {
      const data =
        '{"object":"error","message":"KV cache exhausted","type":"InternalServerError","param":null,"code":500}';
      assert.deepEqual(interpretChunk(data, 9), [{
        kind: "error",
        errorKind: "stream",
        message:
          "Stream event 9: server error: KV cache exhausted (type InternalServerError, code 500)",
      }]);
    },
  );

  await t.step("error given as a string", () => {
    assert.deepEqual(interpretChunk('{"error":"overloaded"}', 1), [
      {
        kind: "error",
        errorKind: "stream",
        message: "Stream event 1: server error: overloaded",
      },
    ]);
  });

  await t.step("[DONE]", () => {
    assert.deepEqual(interpretChunk("[DONE]"), [{ kind: "done" }]);
    assert.deepEqual(interpretChunk(" [DONE] "), [{ kind: "done" }]);
  });

  await t.step(
    "malformed JSON is a protocol error naming the event and a snippet",
    () => {
      assert.deepEqual(interpretChunk('{"choices":[{"delta":', 5), [{
        kind: "error",
        errorKind: "protocol",
        message:
          `Stream event 5: expected JSON or [DONE] in "data", got malformed JSON "{\\"choices\\":[{\\"delta\\":" (Unexpected end of JSON input)`,
      }]);
    },
  );

  await t.step(
    "a long malformed payload is cut to 80 characters in the message",
    () => {
      const data = `{"x":"${"a".repeat(200)}`;
      const [item] = interpretChunk(data, 2);
      assert.equal(item.kind, "error");
      assert.ok(
        item.kind === "error" &&
          item.message.includes(`${"a".repeat(74)}"... (206 chars)`),
        JSON.stringify(item),
      );
    },
  );

  await t.step("JSON that is not an object is a protocol error", () => {
    assert.deepEqual(interpretChunk("[1,2]", 0), [{
      kind: "error",
      errorKind: "protocol",
      message: 'Stream event 0: expected a JSON object in "data", got "[1,2]"',
    }]);
  });

  await t.step("an object with neither choices nor usage says nothing", () => {
    assert.deepEqual(interpretChunk("{}"), []);
    assert.deepEqual(interpretChunk('{"choices":[]}'), []);
  });
});
