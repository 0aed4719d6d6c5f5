/**
 * Sweeps: the attainment-vs-rate curve and DistServe capacity of a sweep, read from the
 * `sweep_attainment` and `sweep_capacity` macros, and the sweep planning rules the `sweep`
 * command follows (order of points, early stop).
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import { describeFailurePolicy, type FailurePolicy } from "./failure_policy.ts";
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";

/** What a sweep varies. */
export type SweepAxis = "speedup" | "rate" | "concurrency";

/** One point of a sweep: an ordinary run at one requested speedup, rate or concurrency. */
export interface SweepPoint {
  /** Run id of the point. */
  runId: string;
  /** The run's label, else `null`. */
  label: string | null;
  /** Run status (`running`, `completed`, `aborted`, `failed`). */
  status: string;
  /** 1 = lowest offered rate. */
  pointOrder: number;
  /** What the sweep varies. */
  axis: SweepAxis;
  /** The requested speedup, rate (req/s) or concurrency cap. */
  value: number;
  /** Arrival rate of the replayed schedule (req/s); `null` with fewer than 2 requests. */
  offeredRps: number | null;
  /** The curve's x: offered rate, or the achieved throughput for a concurrency sweep. */
  loadRps: number | null;
  /** Requests the failure policy counts toward attainment. */
  counted: number;
  /** Counted requests that met the SLO. */
  met: number;
  /** 0..1; `null` when nothing was counted. */
  attainment: number | null;
  /** Met requests per second of the point's window; `null` without a window. */
  goodputRps: number | null;
  /** Completed requests per second of the point's window; `null` without a window. */
  throughputRps: number | null;
  /** Latency percentiles of the point's completed requests (ms; `null` without samples). */
  ttftP50Ms: number | null;
  /** 99th percentile TTFT, ms. */
  ttftP99Ms: number | null;
  /** Median TPOT, ms. */
  tpotP50Ms: number | null;
  /** 99th percentile TPOT, ms. */
  tpotP99Ms: number | null;
  /** Median end-to-end latency, ms. */
  e2eP50Ms: number | null;
  /** 99th percentile end-to-end latency, ms. */
  e2eP99Ms: number | null;
}

/** How a capacity was found (see `reports/sql/sweep_capacity.sql`). */
export type CapacityBound =
  | "interpolated"
  | "at_least_highest_rate"
  | "below_lowest_rate"
  | "no_points";

/** DistServe capacity at the target attainment. */
export interface SweepCapacity {
  /** The attainment the capacity is read at, 0..1 (e.g. 0.9). */
  targetAttainment: number;
  /** Offered req/s; `null` when it could not be bracketed from above. */
  capacityRps: number | null;
  /** `capacityRps / gpus`, offered req/s per GPU; `null` with `capacityRps`. */
  capacityRpsPerGpu: number | null;
  /** GPUs the capacity is divided by (default 1). */
  gpus: number;
  /** How the capacity was found. */
  bound: CapacityBound;
  /**
   * Load (req/s) of the last point at or above the target, before the first one below; else `null`.
   */
  lowerLoadRps: number | null;
  /** Attainment of the lower bracketing point, 0..1. */
  lowerAttainment: number | null;
  /** Load (req/s) of the first point whose attainment is below the target; else `null`. */
  upperLoadRps: number | null;
  /** Attainment of the upper bracketing point, 0..1. */
  upperAttainment: number | null;
}

/** A sweep as recorded, with its curve and capacity. */
export interface SweepReport {
  /** Sweep id (`sweeps.sweep_id`). */
  sweepId: string;
  /** The sweep's label, else `null`. */
  label: string | null;
  /** What the sweep varies. */
  axis: SweepAxis;
  /** The values the sweep planned, in order. */
  plannedValues: number[];
  /** The SLO bounds the sweep recorded (ms, inclusive). */
  slo: Slo;
  /** Machine name of the failure policy the sweep recorded. */
  failurePolicy: string;
  /** The failure policy in words. */
  failurePolicyText: string;
  /** Why the sweep ended (all points run, attainment collapsed), else `null`. */
  stopReason: string | null;
  /** The sweep's points in `pointOrder`. */
  points: SweepPoint[];
  /** Capacity at the recorded target attainment. */
  capacity: SweepCapacity;
}

/**
 * Reads sweep `sweepId` with the SLO, policy and target it recorded; `gpus` divides the capacity.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { readSweep } from "./sweep.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.exec(`insert into sweeps values ('s1', 'demo', now(), null, 'rate', '1,2',
 *   200, null, null, null, 'errors_and_timeouts_count_as_missed;cancelled_excluded', 0.9, null)`);
 * await installViews(store);
 * console.log((await readSweep(store, "s1")).capacity.bound); // no_points
 * store.close();
 * ```
 */
export async function readSweep(
  source: ReportSource,
  sweepId: string,
  gpus = 1,
): Promise<SweepReport> {
  const rows = await source.query(
    `select sweep_id, label, axis, planned_values, slo_ttft_ms, slo_tpot_ms, slo_e2e_ms,
       slo_itl_ms, failure_policy, target_attainment, stop_reason
     from sweeps where sweep_id = $1`,
    [sweepId],
  );
  if (rows.length === 0) {
    throw new Error(`No sweep "${sweepId}" in "${source.path}"`);
  }
  const s = rows[0];
  const slo: Slo = {};
  if (s.slo_ttft_ms !== null) slo.ttftMs = num(s.slo_ttft_ms)!;
  if (s.slo_tpot_ms !== null) slo.tpotMs = num(s.slo_tpot_ms)!;
  if (s.slo_e2e_ms !== null) slo.e2eMs = num(s.slo_e2e_ms)!;
  if (s.slo_itl_ms !== null) slo.itlMs = num(s.slo_itl_ms)!;
  const policy = s.failure_policy as FailurePolicy;
  const target = num(s.target_attainment)!;
  const params: DuckDBValue[] = [
    slo.ttftMs ?? null,
    slo.tpotMs ?? null,
    slo.e2eMs ?? null,
    slo.itlMs ?? null,
    policy,
  ];
  const points = (await source.query(
    `select * from sweep_attainment($1, $2, $3, itl_ms_max := $4, failure_policy := $5)
     where sweep_id = $6 order by point_order`,
    [...params, sweepId],
  )).map((p): SweepPoint => ({
    runId: p.run_id as string,
    label: p.label === null ? null : String(p.label),
    status: p.status as string,
    pointOrder: num(p.point_order)!,
    axis: p.sweep_axis as SweepAxis,
    value: num(p.sweep_value)!,
    offeredRps: num(p.offered_rps),
    loadRps: num(p.load_rps),
    counted: num(p.n_counted)!,
    met: num(p.n_met)!,
    attainment: num(p.attainment),
    goodputRps: num(p.goodput_rps),
    throughputRps: num(p.request_throughput_rps),
    ttftP50Ms: num(p.ttft_p50_ms),
    ttftP99Ms: num(p.ttft_p99_ms),
    tpotP50Ms: num(p.tpot_p50_ms),
    tpotP99Ms: num(p.tpot_p99_ms),
    e2eP50Ms: num(p.e2e_p50_ms),
    e2eP99Ms: num(p.e2e_p99_ms),
  }));
  const c = (await source.query(
    `select * from sweep_capacity($7, $1, $2, $3, itl_ms_max := $4, failure_policy := $5,
       gpus := $8)
     where sweep_id = $6`,
    [...params, sweepId, target, gpus],
  ))[0];
  const capacity: SweepCapacity = c === undefined
    ? {
      targetAttainment: target,
      capacityRps: null,
      capacityRpsPerGpu: null,
      gpus,
      bound: "no_points",
      lowerLoadRps: null,
      lowerAttainment: null,
      upperLoadRps: null,
      upperAttainment: null,
    }
    : {
      targetAttainment: num(c.target_attainment)!,
      capacityRps: num(c.capacity_rps),
      capacityRpsPerGpu: num(c.capacity_rps_per_gpu),
      gpus: num(c.gpus)!,
      bound: c.capacity_bound as CapacityBound,
      lowerLoadRps: num(c.lower_load_rps),
      lowerAttainment: num(c.lower_attainment),
      upperLoadRps: num(c.upper_load_rps),
      upperAttainment: num(c.upper_attainment),
    };
  return {
    sweepId,
    label: s.label === null ? null : String(s.label),
    axis: s.axis as SweepAxis,
    plannedValues: String(s.planned_values).split(",").map(Number),
    slo,
    failurePolicy: policy,
    failurePolicyText: describeFailurePolicy(policy),
    stopReason: s.stop_reason === null ? null : String(s.stop_reason),
    points,
    capacity,
  };
}

/**
 * Parses a comma-separated list of positive numbers (`--speedups 1,2,4`), sorted ascending and
 * deduplicated: a sweep runs from the lightest load up, so it can stop once attainment collapses.
 *
 * @example
 * ```ts
 * import { parseSweepValues } from "./sweep.ts";
 * console.log(parseSweepValues("--rates", "4, 1,2")); // [ 1, 2, 4 ]
 * ```
 */
export function parseSweepValues(flag: string, spec: string): number[] {
  const parts = spec.split(",").map((p) => p.trim());
  const values = parts.map((p) => {
    const v = Number(p);
    if (p === "" || !Number.isFinite(v) || v <= 0) {
      throw new Error(
        `Invalid ${flag} "${spec}": "${p}" is not a number > 0, expected e.g. 1,2,4,8`,
      );
    }
    return v;
  });
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * Whether a sweep should stop after a point: its attainment is known and below `collapse`
 * (a fraction): higher rates only queue more.
 *
 * @example
 * ```ts
 * import { attainmentCollapsed } from "./sweep.ts";
 * console.log(attainmentCollapsed(0.2, 0.5), attainmentCollapsed(null, 0.5)); // true false
 * ```
 */
export function attainmentCollapsed(
  attainment: number | null,
  collapse: number,
): boolean {
  return attainment !== null && attainment < collapse;
}

function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}
