import assert from "node:assert/strict";
import type { StreamEvent } from "../../../adapters/backend.ts";
import {
  pumpEvents,
  streamEvents,
  type StreamEventsOptions,
  type TerminalEvent,
} from "../../../adapters/openai/stream_events.ts";
import { eventSink } from "../../../adapters/stream_sink.ts";
import { chatChunk, sse, VLLM_CHAT_STREAM } from "./_fixtures.ts";
import { stepClock } from "./_backend_helpers.ts";

/** Runs streamEvents over `parts` (one read each) and returns [progress events, terminal]. */
async function run(
  body: ReadableStream<Uint8Array>,
  opts: Partial<StreamEventsOptions> = {},
): Promise<[StreamEvent[], TerminalEvent]> {
  const it = streamEvents(body.getReader(), {
    nowNs: stepClock(),
    label: "Request 0",
    source: "recorded stream",
    ...opts,
  });
  const out: StreamEvent[] = [];
  let r = await it.next();
  for (; !r.done; r = await it.next()) out.push(r.value);
  return [out, r.value];
}

function bodyOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctl) {
      for (const p of parts) ctl.enqueue(enc.encode(p));
      ctl.close();
    },
  });
}

Deno.test("streamEvents() times every event of one read with one clock reading", async (t) => {
  await t.step(
    "recorded vLLM stream, byte at a time: each token gets its own read's time",
    async () => {
      const bytes = new TextEncoder().encode(VLLM_CHAT_STREAM);
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < bytes.length; i++) {
            ctl.enqueue(bytes.subarray(i, i + 1));
          }
          ctl.close();
        },
      });
      const [events, end] = await run(body);
      assert.deepEqual(events.map((e) => e.kind), [
        "first_byte",
        "tokens",
        "tokens",
        "tokens",
        "tokens",
        "usage",
      ]);
      assert.equal(events[0].tNs, 1000n);
      const times = events.slice(1).map((e) => e.tNs);
      assert.deepEqual(
        times,
        [...new Set(times)].sort((a, b) => a < b ? -1 : 1),
      );
      assert.deepEqual(end, {
        kind: "done",
        // The CR of the final CRLF already dispatches [DONE]; the last LF is read after it.
        tNs: BigInt(bytes.length - 1) * 1000n,
        finishReason: "stop",
      });
    },
  );

  await t.step("a read that fails is a network error by default", async () => {
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (n++ === 0) {
          ctl.enqueue(
            new TextEncoder().encode('data: {"choices":[{"text":"a"}]}\n\n'),
          );
        } else ctl.error(new Error("connection reset by peer"));
      },
    });
    const [events, end] = await run(body);
    assert.deepEqual(events.map((e) => e.kind), ["first_byte", "tokens"]);
    assert.deepEqual(end, {
      kind: "error",
      tNs: 2000n,
      errorKind: "network",
      message:
        "Request 0: reading recorded stream failed: connection reset by peer",
    });
  });

  await t.step("an empty body is a protocol error", async () => {
    const [events, end] = await run(bodyOf([]), {
      contentType: "application/json",
    });
    assert.deepEqual(events, []);
    assert.deepEqual(end, {
      kind: "error",
      tNs: 1000n,
      errorKind: "protocol",
      message:
        'Request 0: recorded stream stream closed after 0 bytes without [DONE] and without tokens (content-type "application/json")',
    });
  });
});

/** A reader that returns `pieces` one per read (in a reused buffer, as the h1 reader does). */
function piecesReader(pieces: Uint8Array[]) {
  let k = 0;
  const buf = new Uint8Array(64 * 1024);
  return {
    read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      if (k >= pieces.length) {
        return Promise.resolve({ done: true, value: undefined });
      }
      const p = pieces[k++];
      buf.set(p);
      return Promise.resolve({ done: false, value: buf.subarray(0, p.length) });
    },
  };
}

async function pumped(
  pieces: Uint8Array[],
  parse: "fast" | "full",
  opts: Partial<StreamEventsOptions> = {},
): Promise<unknown> {
  const events: StreamEvent[] = [];
  const end = await pumpEvents(piecesReader(pieces), {
    nowNs: stepClock(),
    label: "Request 0",
    source: "recorded stream",
    parse,
    ...opts,
  }, eventSink((ev) => events.push(ev)));
  return { events, end };
}

const LLAMA_CHUNK = (n: number, text: string) =>
  `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"${text}"}}],"created":1,"id":"x","model":"m","object":"chat.completion.chunk","timings":{"prompt_n":4,"prompt_ms":1.25,"predicted_n":${n},"predicted_ms":${
    n * 2.5
  }}}`;
const COMPLETION_USAGE = (k: number) =>
  `{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"t${k} ","logprobs":null,"finish_reason":${
    k === 3 ? '"length"' : "null"
  }}],"usage":{"prompt_tokens":16,"total_tokens":${
    16 + 2 * k
  },"completion_tokens":${2 * k}}}`;

/** Recorded and made-up streams, each ending in a different way. */
const STREAMS: [string, string][] = [
  ["recorded vLLM chat stream", VLLM_CHAT_STREAM],
  [
    "completions with usage in every chunk (2 tokens each)",
    sse(
      COMPLETION_USAGE(1),
      COMPLETION_USAGE(2),
      COMPLETION_USAGE(3),
      "[DONE]",
    ),
  ],
  [
    "llama.cpp with per-token timings",
    sse(LLAMA_CHUNK(1, "a"), LLAMA_CHUNK(3, "b"), "[DONE]"),
  ],
  [
    "an error object after a token",
    sse(
      chatChunk({ content: "a" }),
      '{"error":{"message":"overloaded","code":503}}',
    ),
  ],
  [
    "malformed JSON after a token",
    sse(chatChunk({ content: "a" }), '{"choices":[{"text":'),
  ],
  [
    "impossible usage after a token",
    sse(
      chatChunk({ content: "a" }),
      '{"choices":[],"usage":{"prompt_tokens":-1,"completion_tokens":1}}',
    ),
  ],
  [
    "tool calls between content",
    sse(
      chatChunk({ content: "a" }),
      chatChunk({
        tool_calls: [{ index: 0, function: { name: "f", arguments: "{}" } }],
      }),
      chatChunk({ content: "b" }, "tool_calls"),
      "[DONE]",
    ),
  ],
  ["closed without [DONE]", sse(chatChunk({ content: "a" }, "stop"))],
  ["a byte-order mark inside the data", sse("\ufeff[DONE]")],
  [
    "a line past maxLineChars",
    sse(chatChunk({ content: "a" }), `"${"x".repeat(300)}"`),
  ],
];

Deno.test("pumpEvents() gives the full parse's events on the same bytes, split at every byte", async (t) => {
  for (const [name, text] of STREAMS) {
    await t.step(name, async () => {
      const bytes = new TextEncoder().encode(text);
      const opts = { sse: { maxLineChars: 256 } };
      const whole = await pumped([bytes], "full", opts);
      assert.deepStrictEqual(await pumped([bytes], "fast", opts), whole);
      for (let i = 1; i < bytes.length; i++) {
        const pieces = [bytes.subarray(0, i), bytes.subarray(i)];
        assert.deepStrictEqual(
          await pumped(pieces, "fast", opts),
          await pumped(pieces, "full", opts),
          `split at byte ${i}`,
        );
      }
      const single = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
      assert.deepStrictEqual(
        await pumped(single, "fast", opts),
        await pumped(single, "full", opts),
        "one byte at a time",
      );
    });
  }

  await t.step(
    "with a token counter the texts are counted the same",
    async () => {
      const bytes = new TextEncoder().encode(
        sse(
          chatChunk({ content: "ab" }),
          chatChunk({ content: "c\\nd" }),
          "[DONE]",
        ),
      );
      const opts = { countTokens: (s: string) => s.length };
      assert.deepStrictEqual(
        await pumped([bytes], "fast", opts),
        await pumped([bytes], "full", opts),
      );
    },
  );
});
