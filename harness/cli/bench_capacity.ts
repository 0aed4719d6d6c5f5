/**
 * The default bench (`deno task bench`): the built-in engine's goodput capacity at a stated SLO,
 * measured the DistServe way on whatever adapter exists, in about 1.5 minutes on 2 cores.
 *
 * 1. Service rate: a short closed loop with `maxSeqs` requests always in flight gives the most
 *    requests per second the engine completes on this machine (it also warms the engine up).
 * 2. Rates bracketing capacity: open-loop replays of the shipped Azure conversation excerpt
 *    (its bursty arrival shape kept, lengths scaled down for a tiny model), each at a target
 *    rate chosen from the service rate and the points so far: up while attainment meets the
 *    target, down while it misses, then halving the bracket. Every point is an ordinary run of
 *    one sweep, so `report`, the dashboard and SQL see them as such.
 * 3. The verdict: capacity interpolated between the bracketing points (`sweep_capacity`), its
 *    sampling error, and every fidelity flag of every run, on the terminal and in `bench.html`.
 *
 * The engine serves from its own thread (adapters/webgpu/webgpu_backend.ts), so the harness
 * paces sends precisely while the engine computes. Each point gets its own prompt seed so that
 * no point reuses another's KV cache.
 *
 * Just over ~400 lines: the bench's plan (pool, point sizes, the next rate) and its one loop
 * (`capacityBench`) read best together; rendering is in the bench command and `reports/`.
 *
 * @module
 */
import type { Backend } from "../../adapters/backend.ts";
import { WebGPUBackend } from "../../adapters/webgpu/mod.ts";
import {
  BENCH_FAILURE_POLICY,
  benchHtml,
  benchJson,
  type BenchMachine,
  type BenchSubject,
  benchTerminal,
  collectRunReport,
  installViews,
  openSnapshot,
  readBench,
  type Slo,
} from "../../reports/mod.ts";
import {
  readTrace,
  rebase,
  synthesizePrompts,
  targetRate,
  type TraceRequest,
} from "../../workloads/mod.ts";
import { RunClock } from "../clock.ts";
import { Store } from "../store.ts";
import { recordRun, type RunCommandResult } from "./run_command.ts";
import { finishSweep, insertSweep, pointAttainment } from "./sweep_command.ts";

/** Options of {@linkcode capacityBench}; the CLI fills every field. */
export interface CapacityBenchOptions {
  db: string;
  /** Where the HTML report goes. */
  html: string;
  slo: Slo;
  /** The SLO as typed, for the record. */
  sloSpec: string;
  /** Attainment the capacity is read at (0.9 = 90 %). */
  target: number;
  /** The trace excerpt to replay. */
  tracePath: string;
  /** Divide the trace's lengths by this. */
  lengthScale: number;
  /** Seconds of the closed-loop service-rate run. */
  serviceSeconds: number;
  /** Seconds of arrivals per point. */
  pointSeconds: number;
  /** Points at most. */
  maxPoints: number;
  json: boolean;
}

/** The engine the bench measures: the `tiny` preset, sized for a CPU adapter. */
export const BENCH_ENGINE = {
  model: "tiny",
  maxSeqs: 16,
  tokenBudget: 256,
  maxContext: 512,
} as const;

/** Each point replays at least this many requests (more time at low rates). */
const MIN_POINT_REQUESTS = 40;
/** ... and at most this many (less time at high rates). */
const MAX_POINT_REQUESTS = 600;
/** The first point's rate as a fraction of the service rate. */
const FIRST_FRACTION = 0.55;
/** Rate multiplier while no point has missed (or divider while none has met) the target. */
const STEP = 1.4;

/** The trace's requests with lengths scaled to fit the tiny preset's context. */
export function benchPool(
  requests: readonly TraceRequest[],
  lengthScale: number,
): TraceRequest[] {
  const half = BENCH_ENGINE.maxContext / 2;
  return requests.map((r) => ({
    ...r,
    inputTokens: Math.min(
      half,
      Math.max(1, Math.round(r.inputTokens / lengthScale)),
    ),
    outputTokens: Math.min(
      half - 1,
      Math.max(1, Math.round(r.outputTokens / lengthScale)),
    ),
  }));
}

/**
 * The requests of one point: the first `rps x seconds` requests of the pool (at least
 * {@linkcode MIN_POINT_REQUESTS} unless that would take more than `2 x seconds`, at most
 * {@linkcode MAX_POINT_REQUESTS}), their arrival shape kept and scaled so that their own mean
 * rate is `rps`, with prompts of their own `seed`.
 *
 * @example
 * ```ts
 * import { pointRequests } from "./bench_capacity.ts";
 * const pool = Array.from({ length: 100 }, (_, i) => ({ id: String(i), arrivalMs: i * i, inputTokens: 4, outputTokens: 2 }));
 * const r = pointRequests(pool, 5, 10, 1);
 * console.log(r.length, (r.length - 1) * 1000 / r.at(-1)!.arrivalMs); // 51 5
 * ```
 */
export function pointRequests(
  pool: readonly TraceRequest[],
  rps: number,
  seconds: number,
  seed: number,
): TraceRequest[] {
  // At least MIN requests, but never more than twice the point's time in arrivals (a slow
  // machine gets fewer requests per point, which the verdict flags, not a bench of hours).
  const wanted = Math.max(
    MIN_POINT_REQUESTS,
    Math.round(rps * seconds) + 1,
  );
  const n = Math.max(
    2,
    Math.min(
      pool.length,
      MAX_POINT_REQUESTS,
      wanted,
      Math.round(rps * 2 * seconds) + 1,
    ),
  );
  const slice = rebase(pool.slice(0, n));
  return synthesizePrompts(targetRate(slice, rps), { kind: "token_ids", seed });
}

/**
 * The next rate to try, from the points so far (rate, attainment met?): up by
 * {@linkcode STEP} until a point misses, down until one meets, then the geometric middle of
 * the tightest bracket; null when the bracket is already tighter than 5 %.
 *
 * @example
 * ```ts
 * import { nextRate } from "./bench_capacity.ts";
 * console.log(nextRate([{ rps: 6, met: true }], 10)?.toFixed(1)); // 8.4
 * console.log(nextRate([{ rps: 6, met: true }, { rps: 8.4, met: false }], 10)?.toFixed(2)); // 7.10
 * ```
 */
export function nextRate(
  points: readonly { rps: number; met: boolean }[],
  serviceRps: number,
): number | null {
  if (points.length === 0) return FIRST_FRACTION * serviceRps;
  const met = points.filter((p) => p.met).map((p) => p.rps);
  const missed = points.filter((p) => !p.met).map((p) => p.rps);
  const lo = met.length > 0 ? Math.max(...met) : null;
  const hi = missed.length > 0 ? Math.min(...missed) : null;
  if (hi === null) return lo! * STEP;
  if (lo === null) return hi / STEP;
  if (lo >= hi) return null; // a noisy curve: met above a miss; the SQL takes the first miss
  if (hi / lo < 1.05) return null;
  return Math.sqrt(lo * hi);
}

/** Runs the bench and prints its verdict; the exit code is 0 unless a run failed. */
export async function capacityBench(
  o: CapacityBenchOptions,
): Promise<RunCommandResult> {
  const machineStart = loadAverage();
  const trace = await readTrace(o.tracePath);
  const pool = benchPool(trace.requests, o.lengthScale);
  const backend = await WebGPUBackend.open(BENCH_ENGINE);
  const info = backend.info;
  const subject: BenchSubject = {
    backend: `built-in engine, ${
      info.model.replace(/^preset:/, "")
    } preset (random weights) on ${info.adapter}${
      info.softwareAdapter ? " (software adapter)" : ""
    }, ${info.policy}, ${info.maxSeqs} seqs`,
    workload: `${
      trace.source.path.split("/").pop()
    } (Azure LLM 2023 conversation), lengths / ${o.lengthScale}, arrival shape kept`,
  };
  console.error(
    `Bench: goodput capacity of the ${subject.backend}\n` +
      `  at ${o.sloSpec}, ${o.target * 100}% attainment; ` +
      `workload ${subject.workload}. Database: ${o.db}`,
  );
  const workload = (transforms: unknown) => ({
    source: trace.source,
    transforms,
    prompt: { kind: "token_ids" },
  });
  const record = (
    label: string,
    requests: TraceRequest[],
    extra: Parameters<typeof recordRun>[0],
    transforms: unknown,
  ) => {
    // Each run has its own clock (its start time, times from 0); the engine keeps serving.
    const clock = new RunClock();
    backend.setClockOrigin(clock.originMs);
    return recordRun(
      {
        ...extra,
        db: o.db,
        label,
        slo: o.slo,
        failurePolicy: BENCH_FAILURE_POLICY,
        json: false,
        quiet: false,
        summary: "none",
        keepBackend: true,
      },
      backend as Backend,
      clock,
      requests,
      { ...workload(transforms), requests: requests.length },
      { bench: true, engine: BENCH_ENGINE, slo: o.slo, label, transforms },
    );
  };
  let last: RunCommandResult | undefined;
  let pacingRefused: string | undefined;
  try {
    // 1. Service rate.
    console.error(
      `[1] service rate: ${o.serviceSeconds} s closed loop, ${info.maxSeqs} requests in flight`,
    );
    const service = await record(
      "bench/service-rate",
      synthesizePrompts(pool, { kind: "token_ids", seed: 1 }),
      {
        db: o.db,
        slo: o.slo,
        json: false,
        quiet: false,
        load: {
          mode: "closed",
          users: info.maxSeqs,
          durationMs: o.serviceSeconds * 1000,
        },
      },
      { closedLoop: { users: info.maxSeqs, seconds: o.serviceSeconds } },
    );
    last = service;
    if (service.status !== "completed") return service;
    const serviceRps = await throughput(o.db, service.runId);
    if (!(serviceRps !== null && serviceRps > 0)) {
      throw new Error(
        `Bench: the service-rate run ${service.runId} completed no request, so no rate can be chosen (see its errors: tokentrace report --db ${o.db} --run ${service.runId})`,
      );
    }
    console.error(`    ${serviceRps.toFixed(2)} req/s`);

    // 2. Points.
    const sweepId = crypto.randomUUID();
    const sweepCfg = {
      db: o.db,
      label: "bench",
      axis: "rate" as const,
      values: [] as number[],
      slo: o.slo,
      failurePolicy: BENCH_FAILURE_POLICY,
      target: o.target,
    };
    await insertSweep(sweepCfg, sweepId);
    const tried: { rps: number; met: boolean }[] = [];
    let stop = `${o.maxPoints} points run`;
    for (let i = 0; i < o.maxPoints; i++) {
      const next = nextRate(tried, serviceRps);
      if (next === null) {
        stop = `bracket narrower than 5 % after ${i} points`;
        break;
      }
      const rps = roundTo3(next);
      const reqs = pointRequests(pool, rps, o.pointSeconds, 100 + i);
      console.error(
        `[${i + 2}] point ${i + 1}: ${
          rps.toFixed(2)
        } req/s target, ${reqs.length} requests`,
      );
      const r = await record(
        `bench@rate=${rps}`,
        reqs,
        {
          db: o.db,
          slo: o.slo,
          json: false,
          quiet: false,
          grouping: { sweep: { sweepId, axis: "rate", value: rps } },
        },
        { targetRate: rps, firstSeconds: o.pointSeconds, seed: 100 + i },
      );
      last = r;
      pacingRefused ??= r.pacingRefused;
      sweepCfg.values.push(rps);
      if (r.status !== "completed") {
        stop = `point rate=${rps} ${r.status}`;
        break;
      }
      const p = await pointAttainment(sweepCfg, r.runId);
      const met = p.attainment !== null && p.attainment >= o.target;
      tried.push({ rps, met });
      console.error(
        `    offered ${p.loadRps?.toFixed(2) ?? "—"} req/s: attainment ${
          p.attainment === null ? "—" : `${(p.attainment * 100).toFixed(1)}%`
        }`,
      );
    }
    await finishSweep(o.db, sweepId, stop, sweepCfg.values);

    // 3. Verdict.
    const machine: BenchMachine = {
      cores: navigator.hardwareConcurrency,
      loadAverageStart: machineStart,
      loadAverageEnd: loadAverage(),
      pacingThread: last?.pacingThread ?? null,
      pacingRefused: pacingRefused ?? null,
    };
    const store = await Store.open(o.db);
    try {
      await installViews(store);
      const runIds = [
        service.runId,
        ...(await store.query(
          "select run_id from runs where sweep_id = $1",
          [sweepId],
        )).map((x) => x.run_id as string),
      ];
      const snapshot = await openSnapshot(store, { runIds });
      try {
        const report = await readBench(snapshot, {
          sweepId,
          serviceRunId: service.runId,
          serviceUsers: info.maxSeqs,
          machine,
        });
        const c = report.sweep.capacity;
        const shown = report.sweep.points.find((p) =>
          p.loadRps === c.lowerLoadRps
        ) ?? report.sweep.points[0];
        const full = shown
          ? await collectRunReport(snapshot, shown.runId, {
            slo: o.slo,
            failurePolicy: BENCH_FAILURE_POLICY,
          })
          : null;
        await Deno.writeTextFile(
          o.html,
          await benchHtml(report, subject, full),
        );
        console.log(
          o.json
            ? benchJson(report, subject)
            : [...benchTerminal(report, subject), `report    ${o.html}`].join(
              "\n",
            ),
        );
      } finally {
        snapshot.close();
      }
    } finally {
      store.close();
    }
    return last;
  } finally {
    await backend.close();
  }
}

/** `x` to 3 significant digits (rates in labels and on the sweep's axis). */
function roundTo3(x: number): number {
  return Number(x.toPrecision(3));
}

/** Completed requests per second of a run (`run_throughput`), or null. */
async function throughput(db: string, runId: string): Promise<number | null> {
  const store = await Store.open(db);
  try {
    await installViews(store);
    const rows = await store.query(
      "select request_throughput_rps from run_throughput where run_id = $1",
      [runId],
    );
    const v = rows[0]?.request_throughput_rps;
    return v === null || v === undefined ? null : Number(v);
  } finally {
    store.close();
  }
}

/** The 1-minute load average (Linux), or null. */
function loadAverage(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}
