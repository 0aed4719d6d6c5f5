/**
 * Throughput of the stream parsing path on a synthetic 1M-event vLLM chat stream: SSE parsing
 * alone, SSE parsing + chunk interpretation, and the full `streamEvents` path over a
 * `ReadableStream` (async generator included); then the reading thread's fast path (issue 13):
 * `SseFramer` + `ChunkScanner`, and `pumpEvents` into a sink, beside the full parse, each with
 * the bytes it allocates per event (the growth of `heapUsed` over 1,000 events between two
 * collections, median of 50 such samples).
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
import { ChunkScanner } from "../chunk_scan.ts";
import { SseParser } from "../sse.ts";
import { SseFramer } from "../sse_bytes.ts";
import { pumpEvents, streamEvents } from "../stream_events.ts";

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

  // The fast path: framing on bytes, the known shape read without JSON.parse.
  const scanner = new ChunkScanner();
  let fastSeen = 0;
  const framer = () =>
    new SseFramer({
      data(b, s, e, index) {
        const n = scanner.scanInto(b, s, e, false);
        fastSeen += n >= 0
          ? n
          : interpretChunk(new TextDecoder().decode(b.subarray(s, e)), index)
            .length;
      },
      text(d, index) {
        fastSeen += interpretChunk(d, index).length;
      },
    });
  t0 = performance.now();
  {
    const f = framer();
    for (let k = 0; k < rounds; k++) for (const read of reads) f.push(read);
    f.end();
  }
  report(
    "SseFramer + ChunkScanner",
    fastSeen,
    allBytes,
    performance.now() - t0,
  );

  const sink = { tokens() {}, usage() {}, event() {} };
  for (const parse of ["full", "fast"] as const) {
    t0 = performance.now();
    await pumpEvents(readsReader(reads, rounds), {
      nowNs: () => BigInt(Math.round(clock() * 1e6)),
      label: "bench",
      source: "synthetic stream",
      parse,
    }, sink);
    report(
      `pumpEvents (${parse} parse)`,
      events,
      allBytes,
      performance.now() - t0,
    );
  }

  // Bytes allocated per event, per path.
  const perEvent = (run: (reads: Uint8Array[]) => void) => {
    const slice = reads.slice(0, 1000 + Math.floor(1000 / 7));
    const samples: number[] = [];
    for (let k = 0; samples.length < 50 && k < 500; k++) {
      const h0 = Deno.memoryUsage().heapUsed;
      run(slice);
      const d = Deno.memoryUsage().heapUsed - h0;
      if (d > 0) samples.push(d / 1000); // a collection in between shows as a drop
    }
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1];
  };
  const full = new SseParser();
  const fast = framer();
  const alloc = {
    "SseParser + interpretChunk": perEvent((rs) => {
      for (const read of rs) {
        for (const ev of full.push(read)) interpretChunk(ev.data, ev.index);
      }
    }),
    "SseFramer + ChunkScanner": perEvent((rs) => {
      for (const read of rs) fast.push(read);
    }),
  };
  for (const [label, b] of Object.entries(alloc)) {
    console.log(
      `${label.padEnd(34)} ~${b.toFixed(0)} bytes allocated per event`,
    );
  }
}

/** A chunk reader over `reads`, `rounds` times, one per read, in one reused buffer. */
function readsReader(reads: Uint8Array[], rounds: number) {
  let r = 0;
  let i = 0;
  const buf = new Uint8Array(64 * 1024);
  const done = { done: true as const, value: undefined };
  return {
    read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      if (r === rounds) return Promise.resolve(done);
      const p = reads[i++];
      if (i === reads.length) {
        i = 0;
        r++;
      }
      buf.set(p);
      return Promise.resolve({ done: false, value: buf.subarray(0, p.length) });
    },
  };
}
