import assert from "node:assert/strict";
import { type SseEvent, SseParser } from "../../../adapters/openai/sse.ts";
import { VLLM_CHAT_EVENTS, VLLM_CHAT_STREAM } from "./_fixtures.ts";

const enc = new TextEncoder();

/** Parses `pieces` in order with one parser and returns every event, `end()` included. */
function parse(...pieces: (string | Uint8Array)[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const piece of pieces) {
    out.push(...p.push(typeof piece === "string" ? enc.encode(piece) : piece));
  }
  out.push(...p.end());
  return out;
}

function datas(events: SseEvent[]): string[] {
  return events.map((e) => e.data);
}

Deno.test("SseParser.push() gives the same events for every split of a recorded stream", async (t) => {
  const bytes = enc.encode(VLLM_CHAT_STREAM);
  const n = bytes.length;

  await t.step("whole stream in one push", () => {
    assert.deepEqual(parse(bytes), VLLM_CHAT_EVENTS);
  });

  await t.step(
    "two pieces, split at every byte (inside UTF-8 characters and CRLF pairs too)",
    () => {
      for (let i = 0; i <= n; i++) {
        assert.deepEqual(
          parse(bytes.subarray(0, i), bytes.subarray(i)),
          VLLM_CHAT_EVENTS,
          `split at byte ${i}`,
        );
      }
    },
  );

  await t.step("three pieces, split on a grid of byte pairs", () => {
    for (let i = 0; i <= n; i += 7) {
      for (let j = i; j <= n; j += 13) {
        assert.deepEqual(
          parse(bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)),
          VLLM_CHAT_EVENTS,
          `split at bytes ${i} and ${j}`,
        );
      }
    }
  });

  await t.step("one byte at a time", () => {
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < n; i++) pieces.push(bytes.subarray(i, i + 1));
    assert.deepEqual(parse(...pieces), VLLM_CHAT_EVENTS);
  });

  await t.step(
    "split points land inside a 4-byte emoji and between CR and LF",
    () => {
      const emoji = bytes.indexOf(0xf0); // first byte of 🚀
      assert.ok(emoji > 0);
      assert.deepEqual(
        parse(bytes.subarray(0, emoji + 2), bytes.subarray(emoji + 2)),
        VLLM_CHAT_EVENTS,
      );
      const cr = bytes.indexOf(13);
      assert.equal(bytes[cr + 1], 10);
      assert.deepEqual(
        parse(bytes.subarray(0, cr + 1), bytes.subarray(cr + 1)),
        VLLM_CHAT_EVENTS,
      );
    },
  );
});

Deno.test("SseParser.push() follows the WHATWG interpretation rules", async (t) => {
  await t.step("LF, CRLF and CR line endings", () => {
    assert.deepEqual(
      datas(parse("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n")),
      ["a", "b", "c", "d"],
    );
  });

  await t.step(
    "CR at the end of one chunk and LF at the start of the next end one line",
    () => {
      // Were they two line endings, "data: a" would be dispatched alone and "x" would start a new event.
      assert.deepEqual(datas(parse("data: a\r", "\ndata: x\r", "\n\r", "\n")), [
        "a\nx",
      ]);
    },
  );

  await t.step(
    "CR at the end of a chunk, then a chunk that decodes to nothing, then LF",
    () => {
      const euro = enc.encode("€"); // 3 bytes
      assert.deepEqual(
        datas(
          parse(
            "data: a\r",
            new Uint8Array(0),
            "\ndata: ",
            euro.subarray(0, 1),
            euro.subarray(1),
            "\n\n",
          ),
        ),
        ["a\n€"],
      );
    },
  );

  await t.step("multi-line data is joined with LF", () => {
    assert.deepEqual(datas(parse("data: one\ndata: two\ndata:three\n\n")), [
      "one\ntwo\nthree",
    ]);
  });

  await t.step("only one space after the colon is removed", () => {
    assert.deepEqual(datas(parse("data:  two spaces\n\ndata:none\n\n")), [
      " two spaces",
      "none",
    ]);
  });

  await t.step("comment lines are skipped", () => {
    assert.deepEqual(
      datas(parse(": keep-alive\n:\ndata: x\n: mid-event comment\n\n")),
      ["x"],
    );
  });

  await t.step("an event with no data is not dispatched", () => {
    assert.deepEqual(parse("event: ping\n\nid: 1\n\n\n\ndata: x\n\n"), [
      { type: "message", data: "x", lastEventId: "1", index: 0 },
    ]);
  });

  await t.step("an empty data line dispatches an empty string", () => {
    assert.deepEqual(datas(parse("data\n\ndata:\n\n")), ["", ""]);
  });

  await t.step(
    "event type applies to one event; id persists; id with NUL is ignored",
    () => {
      assert.deepEqual(
        parse(
          "event: delta\nid: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n",
        ),
        [
          { type: "delta", data: "a", lastEventId: "7", index: 0 },
          { type: "message", data: "b", lastEventId: "7", index: 1 },
          { type: "message", data: "c", lastEventId: "7", index: 2 },
          { type: "message", data: "d", lastEventId: "", index: 3 },
        ],
      );
    },
  );

  await t.step(
    "retry with digits sets retryMs; other values are ignored",
    () => {
      const p = new SseParser();
      p.push(enc.encode("retry: 2500\n\n"));
      assert.equal(p.retryMs, 2500);
      p.push(enc.encode("retry: 10s\n\nretry:\n\n"));
      assert.equal(p.retryMs, 2500);
    },
  );

  await t.step("unknown fields are ignored", () => {
    assert.deepEqual(datas(parse("foo: bar\ndata: x\nDATA: y\n\n")), ["x"]);
  });

  await t.step("a leading byte-order mark is dropped", () => {
    assert.deepEqual(
      datas(
        parse(
          new Uint8Array([0xef, 0xbb]),
          new Uint8Array([0xbf]),
          "data: x\n\n",
        ),
      ),
      ["x"],
    );
  });

  await t.step(
    "an event without its closing blank line is discarded at end()",
    () => {
      const p = new SseParser();
      assert.deepEqual(datas(p.push(enc.encode("data: a\n\ndata: [DONE]\n"))), [
        "a",
      ]);
      assert.deepEqual(p.end(), []);
    },
  );

  await t.step("a line split over many chunks is joined once", () => {
    const long = "x".repeat(10_000);
    const pieces = ["data: "];
    for (let i = 0; i < long.length; i += 100) {
      pieces.push(long.slice(i, i + 100));
    }
    pieces.push("\n\n");
    assert.deepEqual(datas(parse(...pieces)), [long]);
  });

  await t.step("push() after end() throws", () => {
    const p = new SseParser();
    p.end();
    assert.throws(() => p.push(enc.encode("data: x\n\n")), {
      message: "SseParser.push(): the stream already ended, got 9 more bytes",
    });
  });
});

Deno.test("SseParser bounds what it holds", async (t) => {
  await t.step(
    "a line past maxLineChars is refused; events before it are kept",
    () => {
      const p = new SseParser({ maxLineChars: 16 });
      const first = p.push(enc.encode("data: a\n\ndata: 0123456789"));
      assert.deepEqual(first.map((e) => e.data), ["a"]);
      assert.equal(p.failure, undefined);
      assert.deepEqual(p.push(enc.encode("0123456789")), []);
      assert.equal(
        p.failure,
        "an SSE line longer than 16 characters (26 without a line end)",
      );
      // Nothing more is parsed or held.
      assert.deepEqual(p.push(enc.encode("\n\ndata: b\n\n")), []);
      assert.deepEqual(p.end(), []);
    },
  );

  await t.step("a complete line past the bound in one chunk is refused", () => {
    const p = new SseParser({ maxLineChars: 8 });
    p.push(enc.encode("data: 0123456789\n\n"));
    assert.equal(p.failure, "an SSE line longer than 8 characters (16)");
  });

  await t.step("an event past maxEventChars of data is refused", () => {
    const p = new SseParser({ maxEventChars: 10 });
    assert.deepEqual(
      p.push(enc.encode("data: 123456\ndata: 789012\n\n")),
      [],
    );
    assert.equal(
      p.failure,
      "an SSE event with more than 10 characters of data (12)",
    );
  });
});
