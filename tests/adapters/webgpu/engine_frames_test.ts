// The engine protocol's frames between processes: cut anywhere, they come back whole and exact.
import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_BYTES,
} from "../../../adapters/webgpu/_engine_frames.ts";

const messages = [
  { op: "ping", seq: 0 },
  {
    op: "events",
    events: [{ id: "r-1", kind: "token", tNs: 123_456_789_012n }],
    steps: [{ step: 3, tSchedNs: -5n, tGpuStartNs: null }],
    tokens: [],
  },
  { op: "submit", id: "é😀", prompt: [1, 2, 3], maxTokens: 4 },
];

Deno.test("FrameDecoder returns every message, bigints included, however the bytes are cut", () => {
  const bytes = new Uint8Array(
    messages.flatMap((m) => [...encodeFrame(m)]),
  );
  for (let cut = 1; cut <= bytes.length; cut++) {
    const d = new FrameDecoder();
    const out: unknown[] = [];
    for (let at = 0; at < bytes.length; at += cut) {
      out.push(...d.push(bytes.subarray(at, at + cut)));
    }
    assert.deepEqual(out, messages, `chunks of ${cut} bytes`);
    assert.equal(d.pending, 0);
  }
});

Deno.test("FrameDecoder holds a partial frame, and refuses a length no frame can have", () => {
  const d = new FrameDecoder();
  const f = encodeFrame(messages[0]);
  assert.deepEqual(d.push(f.subarray(0, f.length - 1)), []);
  assert.equal(d.pending, f.length - 1);
  assert.deepEqual(d.push(f.subarray(f.length - 1)), [messages[0]]);
  const junk = new TextEncoder().encode("error: something printed\n");
  assert.ok(
    new DataView(junk.buffer).getUint32(0, true) > MAX_FRAME_BYTES,
  );
  assert.throws(
    () => new FrameDecoder().push(junk),
    /Engine stream: a frame of \d+ bytes at byte 0 .* something other than the engine wrote/,
  );
});
