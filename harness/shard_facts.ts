/**
 * One shard of a sharded run (`tokentrace run --shard i/N --start-at t`): its share of the plan,
 * where its shared start lies on its own run clock, and the clock facts it records (table
 * `run_shards`) so that `tokentrace merge` can put the shards on one time line and say how far
 * their clocks may disagree.
 *
 * @module
 */
import type { TraceRequest } from "../workloads/base/request.ts";
import type { RunClock } from "./clock.ts";
import {
  hostClockOffsetNs,
  type HostClockReading,
  type HostClockStatus,
  hostClockStatus,
  hostUnixNsAt,
  readHostClock,
} from "./host_clock.ts";
import type { LoadOptions } from "./load_plan.ts";
import {
  planFingerprint,
  type ShardPart,
  shardPlan,
  type ShardSpec,
} from "./shard.ts";
import type { Store } from "./store.ts";

/** A shard's plan: its part of the whole plan and the whole plan's identity. */
export interface ShardRunPlan {
  spec: ShardSpec;
  part: ShardPart;
  /** {@linkcode planFingerprint} of the whole plan (after `load.maxRequests`). */
  planSha256: string;
  planRequests: number;
  /** The load options for the part: `maxRequests` already applied to the whole plan. */
  load: LoadOptions;
}

/**
 * Shard `spec`'s plan: the whole plan is `requests` cut at `load.maxRequests` (so that every
 * shard cuts the same plan), then shared out by {@linkcode shardPlan}.
 *
 * @example
 * ```ts
 * import { planShardRun } from "./shard_facts.ts";
 * const reqs = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, arrivalMs: i, inputTokens: 1, outputTokens: 1 }));
 * const p = planShardRun(reqs, { maxRequests: 6 }, { index: 1, count: 3 });
 * console.log(p.planRequests, p.part.requests.map((r) => r.id), p.load.maxRequests); // 6 [ "r1", "r4" ] undefined
 * ```
 */
export function planShardRun(
  requests: readonly TraceRequest[],
  load: LoadOptions,
  spec: ShardSpec,
): ShardRunPlan {
  const plan = requests.slice(0, load.maxRequests ?? requests.length);
  return {
    spec,
    part: shardPlan(plan, spec),
    planSha256: planFingerprint(plan),
    planRequests: plan.length,
    load: { ...load, maxRequests: undefined },
  };
}

/** Where a shared start lies on a shard's run clock, placed by a reading of the host clock. */
export interface StartPlacement {
  startAtUnixNs: bigint;
  /** The start on the run clock. */
  startNs: bigint;
  /** `startNs` minus the run clock at the reading: how far ahead the start was. */
  leadNs: bigint;
  reading: HostClockReading;
  /** The run clock's wall anchor minus the host clock, at the reading. */
  hostOffsetNs: bigint;
}

/**
 * Places `startAtUnixNs` (host clock) on `clock`, by a fresh host clock reading rather than the
 * run clock's anchor from process start (which the monotonic clock may have drifted from).
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { placeStart } from "./shard_facts.ts";
 * const clock = new RunClock();
 * const p = placeStart(clock, BigInt(Date.now() + 5000) * 1_000_000n);
 * console.log(p.leadNs > 4_000_000_000n); // true
 * ```
 */
export function placeStart(
  clock: RunClock,
  startAtUnixNs: bigint,
  reading: HostClockReading = readHostClock(),
): StartPlacement {
  const t = clock.fromPerfMs(reading.perfMs);
  const hostNow = hostUnixNsAt(clock, reading, t);
  const startNs = t + (startAtUnixNs - hostNow);
  return {
    startAtUnixNs,
    startNs,
    leadNs: startNs - t,
    reading,
    hostOffsetNs: hostClockOffsetNs(clock, reading),
  };
}

/** A `run_shards` row (see harness/schema.ts, version 7). */
export interface ShardFactsRow {
  runId: string;
  shardIndex: number;
  shardCount: number;
  shardBy: "request" | "session";
  shardRunId: string;
  planSha256: string;
  planRequests: number;
  shardRequests: number;
  startAtUnixNs: bigint;
  startNs: bigint;
  leadNs: bigint;
  hostClockOffsetNs: bigint;
  hostClockUncertaintyNs: bigint;
  hostClockDriftNs: bigint | null;
  hostClockId: string | null;
  hostClockSynced: boolean | null;
  hostClockEstErrorNs: bigint | null;
  sourceDb: string | null;
  timeShiftNs: bigint;
}

/**
 * The `run_shards` row of a shard's own run: its plan, its start placement, the kernel's view
 * of its clock, and the drift of its run clock from the host clock by `end` (a reading taken
 * when the run ended).
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { readHostClock } from "./host_clock.ts";
 * import { placeStart, planShardRun, shardFacts } from "./shard_facts.ts";
 * const clock = new RunClock();
 * const plan = planShardRun([{ id: "a", arrivalMs: 0, inputTokens: 1, outputTokens: 1 }], {}, { index: 0, count: 1 });
 * const start = placeStart(clock, BigInt(Date.now() + 1000) * 1_000_000n);
 * const row = shardFacts("run-1", plan, start, clock, readHostClock());
 * console.log(row.shardCount, row.planRequests, row.timeShiftNs); // 1 1 0n
 * ```
 */
export function shardFacts(
  runId: string,
  plan: ShardRunPlan,
  start: StartPlacement,
  clock: RunClock,
  end: HostClockReading | undefined,
  status: HostClockStatus = hostClockStatus(),
): ShardFactsRow {
  return {
    runId,
    shardIndex: plan.spec.index,
    shardCount: plan.spec.count,
    shardBy: plan.part.by,
    shardRunId: runId,
    planSha256: plan.planSha256,
    planRequests: plan.planRequests,
    shardRequests: plan.part.requests.length,
    startAtUnixNs: start.startAtUnixNs,
    startNs: start.startNs,
    leadNs: start.leadNs,
    hostClockOffsetNs: start.hostOffsetNs,
    hostClockUncertaintyNs: BigInt(
      Math.ceil(start.reading.uncertaintyMs * 1e6),
    ),
    hostClockDriftNs: end === undefined
      ? null
      : hostClockOffsetNs(clock, end) - start.hostOffsetNs,
    hostClockId: status.id ?? null,
    hostClockSynced: status.synced ?? null,
    hostClockEstErrorNs: status.estErrorNs ?? null,
    sourceDb: null,
    timeShiftNs: 0n,
  };
}

/** The columns of `run_shards` in the order {@linkcode insertShardFacts} binds them. */
export const RUN_SHARDS_COLUMNS = [
  "run_id",
  "shard_index",
  "shard_count",
  "shard_by",
  "shard_run_id",
  "plan_sha256",
  "plan_requests",
  "shard_requests",
  "start_at_unix_ns",
  "start_ns",
  "lead_ns",
  "host_clock_offset_ns",
  "host_clock_uncertainty_ns",
  "host_clock_drift_ns",
  "host_clock_id",
  "host_clock_synced",
  "host_clock_est_error_ns",
  "source_db",
  "time_shift_ns",
] as const;

/**
 * Inserts `run_shards` rows into an open, writable store.
 *
 * @example
 * ```ts ignore
 * await insertShardFacts(store, [row]);
 * ```
 */
export async function insertShardFacts(
  store: Store,
  rows: readonly ShardFactsRow[],
): Promise<void> {
  const marks = RUN_SHARDS_COLUMNS.map((_, i) => `$${i + 1}`).join(", ");
  for (const r of rows) {
    await store.exec(
      `insert into run_shards (${
        RUN_SHARDS_COLUMNS.join(", ")
      }) values (${marks})`,
      [
        r.runId,
        r.shardIndex,
        r.shardCount,
        r.shardBy,
        r.shardRunId,
        r.planSha256,
        r.planRequests,
        r.shardRequests,
        r.startAtUnixNs,
        r.startNs,
        r.leadNs,
        r.hostClockOffsetNs,
        r.hostClockUncertaintyNs,
        r.hostClockDriftNs,
        r.hostClockId,
        r.hostClockSynced,
        r.hostClockEstErrorNs,
        r.sourceDb,
        r.timeShiftNs,
      ],
    );
  }
}
