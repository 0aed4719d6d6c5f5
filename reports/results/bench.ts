/**
 * The default bench's verdict: a goodput-capacity sweep of one backend (its attainment curve and
 * DistServe capacity, from `readSweep`), the closed-loop service rate measured first, per-point
 * latency percentiles, and how much to trust the capacity (fidelity flags of every run, the
 * sampling error of the bracketing attainments, how busy the machine was).
 *
 * @module
 */
import {
  DEFAULT_FAILURE_POLICY,
  type FailurePolicy,
} from "./failure_policy.ts";
import { readSweep, type SweepReport } from "./sweep.ts";
import type { ReportSource } from "./snapshot.ts";

/** A flagged fidelity check of one of the bench's runs (`run_fidelity`). */
export interface BenchFlag {
  /** Run id of the flagged run. */
  runId: string;
  /** The run's label, else `null`. */
  label: string | null;
  /** Name of the fidelity check (`run_fidelity.check_name`). */
  check: string;
  /** The check's measured value, in `unit`; `null` when it could not be measured. */
  value: number | null;
  /** The check's threshold, in `unit`; `null` when it has none. */
  threshold: number | null;
  /** Unit of `value` and `threshold`. */
  unit: string;
}

/** Latency at one point of the sweep (completed requests; `run_latency_summary`). */
export interface BenchPointLatency {
  /** Run id of the sweep point. */
  runId: string;
  /** Median TTFT, ms. */
  ttftP50Ms: number | null;
  /** 99th percentile TTFT, ms. */
  ttftP99Ms: number | null;
  /** Median TPOT, ms. */
  tpotP50Ms: number | null;
  /** 99th percentile TPOT, ms. */
  tpotP99Ms: number | null;
  /** 99th percentile schedule lag (sent - scheduled), ms. */
  scheduleLagP99Ms: number | null;
}

/** What the machine was doing around the bench (Linux load averages; null elsewhere). */
export interface BenchMachine {
  /** Logical CPU cores (`navigator.hardwareConcurrency`). */
  cores: number;
  /** 1-minute load average when the bench started (`/proc/loadavg`). */
  loadAverageStart: number | null;
  /** 1-minute load average when the bench ended. */
  loadAverageEnd: number | null;
  /** How the thread that paced the sends ran (`SCHED_FIFO 10`, `normal (...)`), if known. */
  pacingThread?: string | null;
  /** Why real-time pacing was refused in some run, when it was. */
  pacingRefused?: string | null;
}

/** The bench's whole result. */
export interface BenchReport {
  /** The capacity sweep: curve, points and capacity. */
  sweep: SweepReport;
  /** The closed-loop run that measured the service rate. */
  serviceRun: {
    runId: string;
    users: number;
    requestThroughputRps: number | null;
    outputTokensPerS: number | null;
  };
  /** Latency of each sweep point, in point order. */
  latency: BenchPointLatency[];
  /** Flagged fidelity checks of the service run and every sweep point. */
  flags: BenchFlag[];
  /**
   * Half-width of a ~95 % interval on the capacity from the binomial sampling of the two
   * bracketing attainments (see {@linkcode capacityHalfWidth}); null unless interpolated.
   */
  capacityHalfWidthRps: number | null;
  /** What the machine was doing around the bench. */
  machine: BenchMachine;
  /** Why to read the capacity with care (empty when there is no reason). */
  cautions: string[];
}

/** Inputs of {@linkcode readBench}. */
export interface ReadBenchOptions {
  /** Sweep id of the bench's capacity sweep. */
  sweepId: string;
  /** Run id of the closed-loop service-rate run. */
  serviceRunId: string;
  /** Concurrent users of the service-rate run. */
  serviceUsers: number;
  /** Cores and load averages to judge how busy the machine was. */
  machine: BenchMachine;
}

/** Runs of fewer requests than this give attainments too coarse to interpolate on. */
export const MIN_POINT_REQUESTS = 30;

/**
 * Reads the bench's sweep, service-rate run, per-point latency and fidelity flags.
 *
 * @example
 * ```ts ignore
 * const r = await readBench(snapshot, { sweepId, serviceRunId, serviceUsers: 16, machine });
 * console.log(r.sweep.capacity.capacityRps);
 * ```
 */
export async function readBench(
  source: ReportSource,
  o: ReadBenchOptions,
): Promise<BenchReport> {
  const sweep = await readSweep(source, o.sweepId);
  const runIds = [o.serviceRunId, ...sweep.points.map((p) => p.runId)];
  const list = runIds.map((_, i) => `$${i + 1}`).join(", ");
  const tp = (await source.query(
    `select request_throughput_rps, output_tokens_per_s from run_throughput
     where run_id = $1`,
    [o.serviceRunId],
  ))[0];
  const lat = await source.query(
    `select run_id, metric, p50_ms, p99_ms from run_latency_summary
     where run_id in (${list}) and metric in ('ttft_ms', 'tpot_ms', 'schedule_lag_ms')`,
    runIds,
  );
  const latency = sweep.points.map((p): BenchPointLatency => {
    const get = (metric: string, col: "p50_ms" | "p99_ms") =>
      num(lat.find((r) => r.run_id === p.runId && r.metric === metric)?.[col]);
    return {
      runId: p.runId,
      ttftP50Ms: get("ttft_ms", "p50_ms"),
      ttftP99Ms: get("ttft_ms", "p99_ms"),
      tpotP50Ms: get("tpot_ms", "p50_ms"),
      tpotP99Ms: get("tpot_ms", "p99_ms"),
      scheduleLagP99Ms: get("schedule_lag_ms", "p99_ms"),
    };
  });
  const flags = (await source.query(
    `select f.run_id, r.label, f.check_name, f.value, f.threshold, f.unit
     from run_fidelity f join runs r using (run_id)
     where f.run_id in (${list}) and f.flagged
     order by r.started_at, f.check_order`,
    runIds,
  )).map((r): BenchFlag => ({
    runId: r.run_id as string,
    label: r.label === null ? null : String(r.label),
    check: r.check_name as string,
    value: num(r.value),
    threshold: num(r.threshold),
    unit: r.unit as string,
  }));
  const c = sweep.capacity;
  const lower = sweep.points.find((p) => p.loadRps === c.lowerLoadRps);
  const upper = sweep.points.find((p) => p.loadRps === c.upperLoadRps);
  const halfWidth = c.bound === "interpolated" && lower && upper
    ? capacityHalfWidth(
      { rps: lower.loadRps!, met: lower.met, n: lower.counted },
      { rps: upper.loadRps!, met: upper.met, n: upper.counted },
    )
    : null;
  const cautions: string[] = [];
  if (c.bound === "at_least_highest_rate") {
    cautions.push(
      "every point met the target: the capacity is a lower bound (the highest rate tried)",
    );
  } else if (c.bound === "below_lowest_rate") {
    cautions.push(
      "even the lowest rate missed the target: the capacity is below it",
    );
  } else if (c.bound === "no_points") {
    cautions.push("no point produced an attainment");
  }
  const small = sweep.points.filter((p) => p.counted < MIN_POINT_REQUESTS);
  if (small.length > 0) {
    cautions.push(
      `${small.length} point(s) counted fewer than ${MIN_POINT_REQUESTS} requests`,
    );
  }
  const busy = [o.machine.loadAverageStart, o.machine.loadAverageEnd]
    .some((l) => l !== null && l > o.machine.cores);
  if (busy) {
    cautions.push(
      `the machine was busy: load average ${
        fmtLoad(o.machine.loadAverageStart)
      } at the start, ${
        fmtLoad(o.machine.loadAverageEnd)
      } at the end, on ${o.machine.cores} cores`,
    );
  }
  if (o.machine.pacingRefused) cautions.push(o.machine.pacingRefused);
  return {
    sweep,
    serviceRun: {
      runId: o.serviceRunId,
      users: o.serviceUsers,
      requestThroughputRps: num(tp?.request_throughput_rps),
      outputTokensPerS: num(tp?.output_tokens_per_s),
    },
    latency,
    flags,
    capacityHalfWidthRps: halfWidth,
    machine: o.machine,
    cautions,
  };
}

/** Whether the bench's numbers can be taken at face value (no fidelity flag). */
export function benchFidelityOk(r: BenchReport): boolean {
  return r.flags.length === 0;
}

/**
 * The capacity's sampling error: the two bracketing points' attainments are binomial
 * proportions (Agresti-Coull standard errors), and the interpolated capacity moves by
 * `dAttainment / slope` when they move. Returns 1.96 x the combined standard error in req/s,
 * capped at the bracket's width.
 *
 * @example
 * ```ts
 * import { capacityHalfWidth } from "./bench.ts";
 * const hw = capacityHalfWidth({ rps: 4, met: 95, n: 100 }, { rps: 6, met: 60, n: 100 });
 * console.log(hw.toFixed(2)); // 0.61
 * ```
 */
export function capacityHalfWidth(
  lower: { rps: number; met: number; n: number },
  upper: { rps: number; met: number; n: number },
): number {
  const se = (met: number, n: number) => {
    const p = (met + 2) / (n + 4);
    return Math.sqrt((p * (1 - p)) / (n + 4));
  };
  const width = upper.rps - lower.rps;
  const drop = lower.met / lower.n - upper.met / upper.n;
  if (!(width > 0) || !(drop > 0)) return width > 0 ? width : 0;
  const slope = drop / width;
  const combined = Math.hypot(se(lower.met, lower.n), se(upper.met, upper.n));
  return Math.min(width, (1.96 * combined) / slope);
}

/** The failure policy the bench judges attainment by (the sweep default). */
export const BENCH_FAILURE_POLICY: FailurePolicy = DEFAULT_FAILURE_POLICY;

function fmtLoad(v: number | null): string {
  return v === null ? "?" : v.toFixed(1);
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
