import assert from "node:assert/strict";
import { type SseLimits, SseParser } from "../../../adapters/openai/sse.ts";
import { SseFramer } from "../../../adapters/openai/sse_bytes.ts";
import { VLLM_CHAT_STREAM } from "./_fixtures.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

interface Parsed {
  events: { data: string; index: number }[];
  failure: string | undefined;
  /** Events the framer handed over in place or gathered (not through the general parser). */
  fast: number;
}

/** What the framer hands over for `pieces`, `end()` included. */
function frame(pieces: Uint8Array[], limits?: SseLimits): Parsed {
  const out: Parsed = { events: [], failure: undefined, fast: 0 };
  const f = new SseFramer({
    data(b, s, e, index) {
      out.fast++;
      out.events.push({ data: dec.decode(b.subarray(s, e)), index });
    },
    text(data, index) {
      out.events.push({ data, index });
    },
  }, limits);
  for (const p of pieces) f.push(p);
  f.end();
  out.failure = f.failure;
  return out;
}

/** What the general parser gives for the same pieces. */
function reference(
  pieces: Uint8Array[],
  limits?: SseLimits,
): Omit<Parsed, "fast"> {
  const p = new SseParser(limits);
  const events: { data: string; index: number }[] = [];
  for (const piece of pieces) {
    for (const e of p.push(piece)) {
      events.push({ data: e.data, index: e.index });
    }
  }
  for (const e of p.end()) events.push({ data: e.data, index: e.index });
  return { events, failure: p.failure };
}

/** The framer's events for `pieces` must be the parser's for `whole` (default: the same pieces). */
function same(
  pieces: Uint8Array[],
  limits?: SseLimits,
  what = "",
  whole = pieces,
): Parsed {
  const got = frame(pieces, limits);
  assert.deepStrictEqual(
    { events: got.events, failure: got.failure },
    reference(whole, limits),
    what,
  );
  return got;
}

/**
 * Every two-piece split of `bytes`, and one byte at a time, against the parser's events for
 * the stream in one read. (Not against the parser's own split reads: Deno's streaming
 * TextDecoder drops a U+FEFF that starts a later read, so the parser loses it there; the
 * framer decodes each event's bytes whole and keeps it.)
 */
function everySplit(
  bytes: Uint8Array,
  limits?: SseLimits,
  againstWhole = true,
): void {
  for (let i = 0; i <= bytes.length; i++) {
    const pieces = [bytes.subarray(0, i), bytes.subarray(i)];
    same(pieces, limits, `split at byte ${i}`, againstWhole ? [bytes] : pieces);
  }
  const single: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  same(single, limits, "one byte at a time", againstWhole ? [bytes] : single);
}

const STREAMS: [string, string][] = [
  [
    "recorded vLLM chat stream (CRLF, comments, event/id/retry, two-line data, UTF-8)",
    VLLM_CHAT_STREAM,
  ],
  ["LF endings", 'data: {"a":1}\n\ndata: [DONE]\n\n'],
  ["CR endings", 'data: {"a":1}\r\rdata:x\r\r'],
  [
    "data without a space, data alone, data: alone",
    "data:x\n\ndata\n\ndata:\n\n",
  ],
  ["two spaces keep one", "data:  x\n\n"],
  ["fields that look like data", "datax: 1\ndata x\ndat: 2\ndata: y\n\n"],
  ["three data lines", "data: a\ndata:\ndata: c\n\n"],
  // The line and event buffers start empty: a line feed joined onto an empty first data line.
  ["an empty first data line, then more", "data:\ndata: b\n\ndata\ndata\n\n"],
  ["event without data is not dispatched", "event: e\nid: 1\n\ndata: z\n\n"],
  ["unterminated event at the end is discarded", "data: a\n\ndata: b\n"],
  ["byte-order mark at the start", "\ufeffdata: a\n\n"],
  ["byte-order mark later is kept", "data: \ufeffa\n\n"],
  ["comment only", ": ping\n\n"],
];

Deno.test("SseFramer hands over the events SseParser gives, for every split", async (t) => {
  for (const [name, text] of STREAMS) {
    await t.step(name, () => everySplit(enc.encode(text)));
  }

  await t.step("an event and a line longer than a first buffer", () => {
    const long = "x".repeat(2500);
    const bytes = enc.encode(`data: ${long}\ndata: ${long}\n\n`);
    for (const i of [1, 700, 1100, 2600, 4000, bytes.length - 1]) {
      same(
        [bytes.subarray(0, i), bytes.subarray(i)],
        undefined,
        `split at ${i}`,
        [bytes],
      );
    }
  });

  await t.step("invalid UTF-8 in data", () => {
    everySplit(
      new Uint8Array([...enc.encode("data: a"), 0xff, 0xe4, 0x0a, 0x0a]),
    );
  });

  await t.step(
    "the recorded stream is framed on bytes, not by the general parser",
    () => {
      const got = same([enc.encode(VLLM_CHAT_STREAM)]);
      assert.equal(got.fast, 7);
    },
  );
});

Deno.test("SseFramer bounds what it holds as SseParser does", async (t) => {
  const cases: [string, string, SseLimits][] = [
    [
      "a partial line past maxLineChars",
      "data: a\n\ndata: 0123456789012345678",
      { maxLineChars: 16 },
    ],
    ["a complete line past maxLineChars", "data: 0123456789\n\n", {
      maxLineChars: 8,
    }],
    ["an event past maxEventChars", "data: 123456\ndata: 789012\n\n", {
      maxEventChars: 10,
    }],
    [
      "multi-byte characters: more bytes than the limit, fewer characters",
      "data: éééééééé\n\ndata: [DONE]\n\n",
      { maxLineChars: 16, maxEventChars: 9 },
    ],
    [
      "multi-byte characters past the limit",
      "data: éééééééééééé\n\n",
      { maxLineChars: 16 },
    ],
    [
      "an event of many lines that passes the bound on bytes only",
      "data: éé\ndata: éé\ndata: é\n\ndata: b\n\n",
      { maxEventChars: 6 },
    ],
  ];
  for (const [name, text, limits] of cases) {
    // A refusal names the characters held when it came, which depends on the reads: compared
    // read for read with the parser.
    await t.step(name, () => everySplit(enc.encode(text), limits, false));
  }

  await t.step("the failure message is the parser's", () => {
    const got = same([enc.encode("data: 0123456789\n\n")], { maxLineChars: 8 });
    assert.equal(got.failure, "an SSE line longer than 8 characters (16)");
  });
});

Deno.test("SseFramer.stop() skips the rest of the read and every later one", () => {
  const seen: string[] = [];
  const f = new SseFramer({
    data(b, s, e) {
      const d = dec.decode(b.subarray(s, e));
      seen.push(d);
      if (d === "stop") f.stop();
    },
    text: (d) => seen.push(d),
  });
  f.push(enc.encode("data: a\n\ndata: stop\n\ndata: b\n\n"));
  f.push(enc.encode("data: c\n\n"));
  f.end();
  assert.deepStrictEqual(seen, ["a", "stop"]);
});

Deno.test("SseFramer.push() after end() throws", () => {
  const f = new SseFramer({ data() {}, text() {} });
  f.end();
  assert.throws(() => f.push(enc.encode("data: a\n\n")), {
    message: "SseFramer.push(): the stream already ended, got 9 more bytes",
  });
});
