/**
 * Throughput of the stream parsing path on a synthetic 1M-event vLLM chat stream: SSE parsing
 * alone, SSE parsing + chunk interpretation, and the full `streamEvents` path over a
 * `ReadableStream` (async generator included).
 *
 * Run: `npx -y deno@2.9.6 run adapters/openai/bench/sse.ts [events]` (default 1000000).
 *
 * Reads hold one event each, except every 7th event, which is split in two reads mid-line (as
 * happens when a TCP segment ends inside an event); every 50th content piece has multi-byte
 * UTF-8.
 *
 * @module
 */
import { interpretChunk } from "../chunk.ts";
import { SseParser } from "../sse.ts";
import { streamEvents } from "../stream_events.ts";

const BLOCK_EVENTS = 1000;

/** One block of `BLOCK_EVENTS` events cut into reads; replayed to reach the requested count. */
function makeReads(): { reads: Uint8Array[]; bytes: number } {
  const enc = new TextEncoder();
  const reads: Uint8Array[] = [];
  let bytes = 0;
  for (let i = 0; i < BLOCK_EVENTS; i++) {
    const content = i % 50 === 0 ? " 世界🚀" : ` tok${i}`;
    const chunk = JSON.stringify({
      id: "chatcmpl-5e1d2b9a",
      object: "chat.completion.chunk",
      created: 1732233600,
      model: "Qwen/Qwen3-0.6B",
      choices: [{
        index: 0,
        delta: { content },
        logprobs: null,
        finish_reason: null,
      }],
    });
    const ev = enc.encode(`data: ${chunk}\n\n`);
    bytes += ev.length;
    if (i % 7 === 0) {
      const cut = ev.length >> 1;
      reads.push(ev.subarray(0, cut), ev.subarray(cut));
    } else {
      reads.push(ev);
    }
  }
  return { reads, bytes };
}

function report(
  label: string,
  events: number,
  bytes: number,
  ms: number,
): void {
  const evs = events / (ms / 1000);
  const mbs = bytes / 1e6 / (ms / 1000);
  console.log(
    `${label.padEnd(34)} ${events} events in ${ms.toFixed(0)} ms: ${
      (evs / 1e6).toFixed(2)
    } M events/s, ${mbs.toFixed(0)} MB/s`,
  );
}

if (import.meta.main) {
  const total = Number(Deno.args[0] ?? 1_000_000);
  const rounds = Math.max(1, Math.round(total / BLOCK_EVENTS));
  const { reads, bytes } = makeReads();
  const events = rounds * BLOCK_EVENTS;
  const allBytes = rounds * bytes;

  // Warm-up so the JIT has compiled the hot paths before timing.
  for (let r = 0; r < 20; r++) {
    const p = new SseParser();
    for (const read of reads) {
      for (const ev of p.push(read)) interpretChunk(ev.data, ev.index);
    }
  }

  let seen = 0;
  let t0 = performance.now();
  {
    const p = new SseParser();
    for (let r = 0; r < rounds; r++) {
      for (const read of reads) seen += p.push(read).length;
    }
    p.end();
  }
  report("SseParser.push", seen, allBytes, performance.now() - t0);

  seen = 0;
  t0 = performance.now();
  {
    const p = new SseParser();
    for (let r = 0; r < rounds; r++) {
      for (const read of reads) {
        for (const ev of p.push(read)) {
          seen += interpretChunk(ev.data, ev.index).length;
        }
      }
    }
    p.end();
  }
  report(
    "SseParser.push + interpretChunk",
    seen,
    allBytes,
    performance.now() - t0,
  );

  let r = 0;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (r === rounds) return ctl.close();
      ctl.enqueue(reads[i++]);
      if (i === reads.length) {
        i = 0;
        r++;
      }
    },
  });
  seen = 0;
  t0 = performance.now();
  const clock = performance.now.bind(performance);
  const it = streamEvents(body.getReader(), {
    nowNs: () => BigInt(Math.round(clock() * 1e6)),
    label: "bench",
    source: "synthetic stream",
  });
  for (let x = await it.next(); !x.done; x = await it.next()) {
    if (x.value.kind === "tokens") seen++;
  }
  report(
    "streamEvents (ReadableStream)",
    seen,
    allBytes,
    performance.now() - t0,
  );
  if (seen !== events) {
    throw new Error(`Benchmark: expected ${events} token events, got ${seen}`);
  }
}
