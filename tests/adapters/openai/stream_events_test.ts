import assert from "node:assert/strict";
import type { StreamEvent } from "../../../adapters/backend.ts";
import {
  streamEvents,
  type StreamEventsOptions,
  type TerminalEvent,
} from "../../../adapters/openai/stream_events.ts";
import { VLLM_CHAT_STREAM } from "./_fixtures.ts";
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
