/**
 * `deno task perf:lag [--seconds S] [--rate R] [--hosts process,worker] [--nice auto|N]
 * [--pacing auto,normal] [--pairs P]`: the schedule lag of the default bench's open loop while the built-in engine
 * computes (issue 11's target: p99 <= 2 ms at the bench's rates on 2 cores).
 *
 * Each run replays the bench's workload (its pool, lengths and seed) at R req/s (default 8, the
 * bench's middle point) for S seconds (default 45) against the engine on the given host, into a
 * fresh database, and prints the lag (sent minus scheduled) p50 / p90 / p99 / max and the load
 * average at its end. `--pacing` lists the pacing thread's priorities to try
 * (harness/pacing_priority.ts; default `auto`, which is real-time where permitted). `--pairs P`
 * runs every host and pacing in turn P times (default 2), so that a change of the machine's
 * state shows in all. Run it on a quiet machine: the engine itself keeps both
 * cores of a 2-core machine busy. It replays the bench's own plan (`bench_capacity.ts`), so it
 * lives beside the CLI, not in `harness/bench/` (the harness layer must not import the CLI).
 *
 * @module
 */
import { RunClock } from "../../clock.ts";
import { executeRun } from "../../run_session.ts";
import { WebGPUBackend } from "../../../adapters/webgpu/mod.ts";
import type { EngineHostKind } from "../../../adapters/webgpu/mod.ts";
import { readTrace } from "../../../workloads/mod.ts";
import { BENCH_ENGINE, benchPool, pointRequests } from "../bench_capacity.ts";
import { BENCH_TRACE } from "../bench_command.ts";
import { Store } from "../../store.ts";
import {
  PACING_PRIORITIES,
  type PacingPriority,
} from "../../pacing_priority.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i < 0 ? fallback : Deno.args[i + 1] ?? fallback;
}
function positive(name: string, fallback: number): number {
  const raw = flag(name, String(fallback));
  const v = Number(raw);
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new Error(`${name}: expected a number > 0, got ${raw}`);
  }
  return v;
}

const seconds = positive("--seconds", 45);
const rate = positive("--rate", 8);
const pairs = positive("--pairs", 2);
const niceRaw = flag("--nice", "auto");
const nice = niceRaw === "auto" ? "auto" : Number(niceRaw);
if (nice !== "auto" && !(Number.isInteger(nice) && nice >= 0 && nice <= 19)) {
  throw new Error(`--nice: expected auto or an integer 0-19, got ${niceRaw}`);
}
const hosts = flag("--hosts", "process").split(",").map((h) => {
  if (h !== "process" && h !== "worker") {
    throw new Error(`--hosts: expected process and/or worker, got ${h}`);
  }
  return h as EngineHostKind;
});

const pacings = flag("--pacing", "auto").split(",").map((p) => {
  if (!(PACING_PRIORITIES as readonly string[]).includes(p)) {
    throw new Error(
      `--pacing: expected some of ${PACING_PRIORITIES.join(",")}, got ${p}`,
    );
  }
  return p as PacingPriority;
});

const trace = await readTrace(decodeURIComponent(BENCH_TRACE.pathname));
const pool = benchPool(trace.requests, 8);
const loadAverage = () => Deno.readTextFileSync("/proc/loadavg").split(" ")[0];

console.log(
  `Schedule lag at ${rate} req/s for ${seconds} s against the engine (nice ${niceRaw}); ` +
    `load average ${loadAverage()} at the start`,
);
console.log(
  "host     pacing thread     requests  p50 ms  p90 ms  p99 ms  max ms  load at end",
);
for (let p = 0; p < pairs; p++) {
  for (
    const [host, pacing] of hosts.flatMap((h) =>
      pacings.map((q) => [h, q] as const)
    )
  ) {
    const requests = pointRequests(pool, rate, seconds, 5);
    const clock = new RunClock();
    const backend = await WebGPUBackend.open({
      ...BENCH_ENGINE,
      clockOriginMs: clock.originMs,
      nice,
      host,
    });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-lag-" });
    const db = `${dir}/lag.duckdb`;
    let thread = "";
    try {
      const r = await executeRun({
        dbPath: db,
        backend,
        clock,
        requests,
        pacingPriority: pacing,
      });
      thread = r.pacingThread.split(" (")[0];
    } finally {
      await backend.close();
    }
    const store = await Store.open(db, { readOnly: true });
    const [row] = await store.query(
      `select quantile_cont((sent_ns - scheduled_ns) / 1e6, [0.5, 0.9, 0.99]) as q,
              max((sent_ns - scheduled_ns) / 1e6) as mx, count(*) as n
         from requests where sent_ns is not null`,
    );
    store.close();
    await Deno.remove(dir, { recursive: true });
    const q = (row.q as { items: number[] }).items;
    const f = (v: unknown) => Number(v).toFixed(2).padStart(6);
    console.log(
      `${host.padEnd(8)} ${thread.slice(0, 16).padEnd(16)}  ${
        String(row.n).padStart(8)
      }  ${f(q[0])}  ${f(q[1])}  ` +
        `${f(q[2])}  ${f(row.mx)}  ${loadAverage()}`,
    );
  }
}
