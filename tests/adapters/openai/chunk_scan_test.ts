import assert from "node:assert/strict";
import {
  type ChunkItem,
  interpretChunk,
} from "../../../adapters/openai/chunk.ts";
import { ChunkScanner } from "../../../adapters/openai/chunk_scan.ts";
import { chatChunk, USAGE_CHUNK } from "./_fixtures.ts";

const enc = new TextEncoder();

/** The scanner's items for `data` (copied: the scanner reuses them), or null. */
function scan(data: string, wantText = true): ChunkItem[] | null {
  const b = enc.encode(data);
  const got = new ChunkScanner().scan(b, 0, b.length, wantText);
  return got === null ? null : got.map((i) => ({ ...i }));
}

const COMPLETION =
  '{"id":"cmpl-7","object":"text_completion","created":1732233600,"model":"m","choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}';

/** Payloads of the shape servers send: the scanner must read each (not fall back). */
const KNOWN: [string, string][] = [
  ["vLLM completions chunk", COMPLETION],
  ["role-only chat delta", chatChunk({ role: "assistant", content: "" })],
  ["chat content", chatChunk({ content: "héllo" })],
  ["chat content with escapes", chatChunk({ content: 'a "q"\n\\ \u00e9 \t' })],
  [
    "chat content with \\u escapes",
    '{"choices":[{"delta":{"content":"\\u00e9\\ud83d\\ude80"}}]}',
  ],
  ["null content", chatChunk({ content: null })],
  ["reasoning_content", chatChunk({ reasoning_content: "Hmm" })],
  ["reasoning", chatChunk({ reasoning: "Hmm" })],
  [
    "both reasoning fields",
    chatChunk({ reasoning: "b", reasoning_content: "a" }),
  ],
  [
    "empty reasoning_content falls to reasoning",
    chatChunk({ reasoning_content: "", reasoning: "r" }),
  ],
  [
    "reasoning and content together",
    chatChunk({ reasoning_content: "r", content: "c" }),
  ],
  ["empty tool_calls", chatChunk({ content: "x", tool_calls: [] })],
  ["finish reason", chatChunk({ content: "end" }, "stop")],
  [
    "finish reason with escapes",
    '{"choices":[{"text":"x","finish_reason":"st\\u006fp"}]}',
  ],
  ["usage chunk with cached tokens", USAGE_CHUNK],
  [
    "continuous usage stats in a token chunk",
    '{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":16,"total_tokens":19,"completion_tokens":3}}',
  ],
  [
    "usage before choices",
    '{"usage":{"completion_tokens":2,"prompt_tokens":5},"choices":[{"text":"b"}]}',
  ],
  [
    "usage with null details",
    '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":null}}',
  ],
  [
    "usage with a string count is ignored",
    '{"choices":[],"usage":{"prompt_tokens":"5","completion_tokens":2}}',
  ],
  ["usage that is an array is ignored", '{"choices":[],"usage":[1,2]}'],
  [
    "cached tokens of another type are left out",
    '{"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":"3"}}}',
  ],
  ["zero counts", '{"usage":{"prompt_tokens":0,"completion_tokens":0}}'],
  [
    "text and delta together",
    '{"choices":[{"text":"t","delta":{"content":"c"}}]}',
  ],
  [
    "later choices are not read",
    '{"choices":[{"text":"a"},{"text":"b","delta":{"x":[1,{"y":null}]}}]}',
  ],
  ["first choice not an object", '{"choices":[null,{"text":"b"}]}'],
  ["choices not an array", '{"choices":{"text":"a"}}'],
  ["delta not an object", '{"choices":[{"delta":"x","text":"t"}]}'],
  ["empty choices", '{"choices":[]}'],
  ["empty object", "{}"],
  ["error null is no error", '{"error":null,"choices":[{"text":"a"}]}'],
  [
    "object of another kind",
    '{"object":"chat.completion.chunk","choices":[{"text":"a"}]}',
  ],
  ["timings null", '{"timings":null,"choices":[{"text":"a"}]}'],
  [
    "whitespace everywhere",
    ' \t{ "choices" : [ { "text" : "a" , "finish_reason" : "length" } ] , "n" : -1.5e+3 }\n',
  ],
  [
    "numbers, literals and nesting elsewhere",
    '{"a":[0,-0,1.25,3E-2,true,false,null,{"b":{"c":[[]]}}],"choices":[{"text":"z"}]}',
  ],
  [
    "escaped key outside the keys of interest",
    '{"x":{"k\\u0065y":1},"choices":[{"text":"a"}]}',
  ],
  [
    "a byte-order mark at the start of a text",
    '{"choices":[{"text":"\ufeffa"}]}',
  ],
  ["[DONE]", "[DONE]"],
];

/** Payloads the scanner leaves to the full parse (it must return null). */
const UNKNOWN: [string, string][] = [
  ["[DONE] with spaces", " [DONE] "],
  ["not JSON", "hello"],
  ["malformed JSON", '{"choices":[{"text":"a"}]'],
  ["trailing bytes", '{"choices":[]} x'],
  ["a JSON array", '[{"choices":[]}]'],
  ["a JSON string", '"text"'],
  [
    "error object",
    '{"error":{"message":"boom","type":"server_error","code":500}}',
  ],
  ["error string", '{"error":"boom"}'],
  [
    "vLLM error chunk",
    '{"object":"error","message":"boom","type":"BadRequestError","code":400}',
  ],
  [
    "tool calls",
    chatChunk({
      tool_calls: [{ index: 0, function: { name: "f", arguments: "{" } }],
    }),
  ],
  [
    "llama.cpp timings",
    '{"choices":[{"delta":{"content":"a"}}],"timings":{"prompt_n":3,"predicted_n":1,"predicted_ms":1.5}}',
  ],
  ["duplicate choices", '{"choices":[{"text":"a"}],"choices":[{"text":"b"}]}'],
  ["duplicate text", '{"choices":[{"text":"a","text":"b"}]}'],
  ["escaped key of interest", '{"ch\\u006fices":[{"text":"a"}]}'],
  ["escaped choice key", '{"choices":[{"t\\u0065xt":"a"}]}'],
  ["negative usage", '{"usage":{"prompt_tokens":-1,"completion_tokens":2}}'],
  ["fractional usage", '{"usage":{"prompt_tokens":1.5,"completion_tokens":2}}'],
  [
    "usage as a float integer",
    '{"usage":{"prompt_tokens":1.0,"completion_tokens":2}}',
  ],
  [
    "usage with an exponent",
    '{"usage":{"prompt_tokens":1e2,"completion_tokens":2}}',
  ],
  [
    "usage past the INTEGER range",
    '{"usage":{"prompt_tokens":2147483648,"completion_tokens":2}}',
  ],
  [
    "cached above prompt",
    '{"usage":{"prompt_tokens":2,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}',
  ],
  ["leading zero", '{"usage":{"prompt_tokens":01,"completion_tokens":2}}'],
  ["raw control character in a string", '{"choices":[{"text":"a\tb"}]}'],
  ["bad escape", '{"choices":[{"text":"a\\xb"}]}'],
  ["short \\u escape", '{"choices":[{"text":"\\u12"}]}'],
  ["bad literal", '{"choices":[{"text":nul}]}'],
  ["bad number", '{"n":-,"choices":[]}'],
  ["missing colon", '{"choices" []}'],
  ["trailing comma", '{"choices":[],}'],
  ["nesting past 64", `{"a":${"[".repeat(70)}${"]".repeat(70)}}`],
];

Deno.test("ChunkScanner.scan() reads the known shapes as interpretChunk() does", async (t) => {
  for (const [name, data] of KNOWN) {
    await t.step(name, () => {
      const got = scan(data);
      assert.notEqual(got, null, "fell back to the full parse");
      assert.deepStrictEqual(got, interpretChunk(data));
    });
  }
});

Deno.test("ChunkScanner.scan() leaves every other payload to the full parse", async (t) => {
  for (const [name, data] of UNKNOWN) {
    await t.step(name, () => assert.equal(scan(data), null));
  }
});

Deno.test("ChunkScanner.scan() in place, without text, on odd bytes", async (t) => {
  await t.step("token items carry an empty text, the rest is the same", () => {
    const data =
      '{"choices":[{"delta":{"reasoning":"r","content":"c"},"finish_reason":"length"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}';
    const full = interpretChunk(data).map((i) =>
      i.kind === "tokens" ? { ...i, text: "" } : i
    );
    assert.deepStrictEqual(scan(data, false), full);
  });

  await t.step("a payload inside a larger buffer is read in place", () => {
    const b = enc.encode(`data: ${COMPLETION}\n\n`);
    const items = new ChunkScanner().scan(b, 6, b.length - 2, true);
    assert.deepStrictEqual(items, interpretChunk(COMPLETION));
  });

  await t.step(
    "invalid UTF-8 in a string is read as the decoder reads it",
    () => {
      const b = new Uint8Array([
        ...enc.encode('{"choices":[{"text":"a'),
        0xff,
        0xe4,
        ...enc.encode('"}]}'),
      ]);
      const text = new TextDecoder().decode(b);
      assert.deepStrictEqual(
        new ChunkScanner().scan(b, 0, b.length, true),
        interpretChunk(text),
      );
    },
  );

  await t.step("counts set by the caller start over at the next scan", () => {
    const s = new ChunkScanner();
    const b = enc.encode(COMPLETION);
    const first = s.scan(b, 0, b.length, false)!;
    (first[0] as { count: number }).count = 7;
    assert.deepStrictEqual(s.scan(b, 0, b.length, false), [
      { kind: "tokens", channel: "content", count: 1, text: "" },
    ]);
  });
});
