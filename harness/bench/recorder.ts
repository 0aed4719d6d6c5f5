/**
 * Recorder throughput benchmark (issue 7 targets 3 and 4): pushes token events through the
 * real Recorder (measuring thread -> worker -> DuckDB appender) as fast as they can be produced
 * and prints committed events/s and resident-memory growth.
 *
 * Usage: `deno run -A harness/bench/recorder.ts [--events 10000000] [--streams 256] [--json]`
 * (`TOKENTRACE_RECORDER_MEMORY_MB` sets the recorder's DuckDB buffer pool, default 128). The
 * producer waits while more than 4 batches are queued, as a bounded pipeline would.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Recorder } from "../recorder.ts";
import { Store } from "../store.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "10000000" },
    streams: { type: "string", default: "256" },
    json: { type: "boolean", default: false },
  },
});
const events = Number(values.events);
const streams = Number(values.streams);

const dir = await Deno.makeTempDir({ prefix: "tokentrace-recorder-bench-" });
const path = `${dir}/bench.duckdb`;
const rss0 = Deno.memoryUsage().rss;
const rec = await Recorder.start(path, {
  runId: crypto.randomUUID(),
  backend: "bench",
  toolVersion: "bench",
  clockOriginUnixNs: 0n,
}, {
  memoryLimitMb: Number(Deno.env.get("TOKENTRACE_RECORDER_MEMORY_MB") ?? 128),
});
// Growth over the run: from when the recorder is ready (its worker and DuckDB loaded).
const rssStart = Deno.memoryUsage().rss;
const reqIds = Array.from({ length: streams }, (_, i) => `req-${i}`);
const seq = new Int32Array(streams);
let peakRss = rssStart;
const t0 = performance.now();
// Produce in slices; between slices wait while more than 4 batches wait for the database.
const SLICE = 65_536;
for (let i = 0; i < events;) {
  const end = Math.min(events, i + SLICE);
  for (; i < end; i++) {
    const s = i % streams;
    rec.token(reqIds[s], seq[s]++, BigInt(i) * 1000n, 1, "content");
  }
  if ((i / SLICE) % 16 === 0) {
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  }
  // Bounded pipeline: never more than 4 batches waiting for the database.
  await rec.waitForBacklog(4);
}
const tProduced = performance.now();
const stats = await rec.finish("completed");
const t1 = performance.now();
peakRss = Math.max(peakRss, Deno.memoryUsage().rss);

const store = await Store.open(path, { readOnly: true });
const n = Number(
  (await store.query("select count(*) as n from token_events"))[0].n,
);
store.close();
await Deno.remove(dir, { recursive: true });

const result = {
  events,
  committed: n,
  produce_s: (tProduced - t0) / 1000,
  total_s: (t1 - t0) / 1000,
  events_per_s: events / ((t1 - t0) / 1000),
  rss_growth_mb: (peakRss - rssStart) / 2 ** 20,
  rss_startup_mb: (rssStart - rss0) / 2 ** 20,
  flushes: stats.flushes,
};
if (n !== events) throw new Error(`Committed ${n} of ${events} events`);
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(
    `recorder: ${events.toLocaleString("en-US")} token events committed in ${
      result.total_s.toFixed(2)
    } s = ${
      Math.round(result.events_per_s).toLocaleString("en-US")
    } events/s ` +
      `(target >= 1,000,000); produced in ${result.produce_s.toFixed(2)} s; ` +
      `peak RSS growth over the run ${
        result.rss_growth_mb.toFixed(0)
      } MB (target < 200 MB; ` +
      `starting the recorder took ${
        result.rss_startup_mb.toFixed(0)
      } MB); ${stats.flushes} batches`,
  );
}
