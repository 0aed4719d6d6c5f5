/**
 * A sharded `run` (`--shard i/N --start-at t`): the shard's part of the plan, its start placed
 * on the run clock just before the run begins, and its clock facts written (`run_shards`) once
 * the run has ended.
 *
 * @module
 */
import type { TraceRequest } from "../../workloads/base/request.ts";
import type { RunClock } from "../clock.ts";
import { readHostClock } from "../host_clock.ts";
import type { LoadOptions } from "../load_plan.ts";
import type { ShardSpec } from "../shard.ts";
import {
  insertShardFacts,
  placeStart,
  planShardRun,
  shardFacts,
  type StartPlacement,
} from "../shard_facts.ts";
import { Store } from "../store.ts";

/** What `recordRun` calls around a run that starts at a shared time. */
export interface StartHooks {
  /** Just before the run: where it starts on the run clock, and its requests' plan indices. */
  placeStart?: () => { startNs: bigint; indices?: ArrayLike<number> };
  /** Once the run has ended (its database released), before the summary. */
  afterRun?: (runId: string) => Promise<void>;
}

/** A shard's requests and load, and the hooks that start it and record its clock facts. */
export interface ShardedRecording {
  requests: TraceRequest[];
  load: LoadOptions;
  hooks: Required<StartHooks>;
}

/**
 * Plans shard `cfg.shard` of `requests` and returns what `recordRun` needs to replay it from
 * `cfg.startAtUnixNs` and record its `run_shards` row into `cfg.db`.
 *
 * @example
 * ```ts ignore
 * const shard = shardedRecording(cfg, requests, clock);
 * await recordRun({ ...cfg, load: shard.load, ...shard.hooks }, backend, clock, shard.requests, workload, cfg);
 * ```
 */
export function shardedRecording(
  cfg: {
    shard?: ShardSpec;
    startAtUnixNs?: bigint;
    load: LoadOptions;
    db: string;
    quiet: boolean;
  },
  requests: readonly TraceRequest[],
  clock: RunClock,
): ShardedRecording {
  const spec = cfg.shard!;
  const plan = planShardRun(requests, cfg.load, spec);
  const say = (s: string) => cfg.quiet || console.error(s);
  say(
    `Shard ${spec.index}/${spec.count}: ${plan.part.requests.length} of the plan's ${plan.planRequests} requests ` +
      `(${
        plan.part.by === "session" ? "whole sessions" : "requests"
      } dealt round-robin; plan ${plan.planSha256.slice(0, 12)})`,
  );
  let start: StartPlacement | undefined;
  return {
    requests: plan.part.requests,
    load: plan.load,
    hooks: {
      placeStart: () => {
        // by a fresh host clock reading, as late as possible before the run starts
        start = placeStart(clock, cfg.startAtUnixNs!);
        say(
          `Starting at ${
            new Date(Number(start.startAtUnixNs / 1_000_000n)).toISOString()
          } (in ${
            (Number(start.leadNs) / 1e9).toFixed(3)
          } s by the host clock)`,
        );
        return { startNs: start.startNs, indices: plan.part.indices };
      },
      afterRun: async (runId) => {
        const facts = shardFacts(runId, plan, start!, clock, readHostClock());
        const store = await Store.open(cfg.db);
        try {
          await insertShardFacts(store, [facts]);
        } finally {
          store.close();
        }
      },
    },
  };
}
