/**
 * Sharded runs, as pure functions: which requests of a plan shard `i` of `N` sends, and the
 * plan's fingerprint, by which shards of one run recognise each other.
 *
 * Every shard loads the same workload with the same seed, so every shard holds the same plan;
 * each then keeps a deterministic share of it. The unit of the share is a request, or a whole
 * session when requests carry a `sessionId` (a conversation stays on one host, with its replies
 * and its server-side prefix cache). Units are dealt round-robin in plan order (arrival order of
 * their first request): unit k goes to shard k mod N, so every shard offers about 1/N of the
 * load at every moment of the plan, not one shard the first N-th of it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { TraceRequest } from "../workloads/base/request.ts";

/** Shard `index` of `count` (`--shard index/count`, 0-based as Kubernetes' completion index). */
export interface ShardSpec {
  /** 0-based: 0 .. count - 1. */
  index: number;
  /** Shards of the run, >= 1. */
  count: number;
}

/** One shard's share of a plan. */
export interface ShardPart {
  /** The shard's requests, in plan order. */
  requests: TraceRequest[];
  /** Each request's 0-based index in the whole plan (what injected cancellations pick by). */
  indices: number[];
  /** `session` when any request carries a session id (sessions are then never split). */
  by: "request" | "session";
  /** Units (sessions, or requests without one) in the whole plan. */
  units: number;
}

/**
 * Shard `spec.index`'s share of `plan`: unit k (a session, or a request without one, in order
 * of first appearance) belongs to shard k mod `spec.count`.
 *
 * @example
 * ```ts
 * import { shardPlan } from "./shard.ts";
 * const r = (id: string, sessionId?: string) =>
 *   ({ id, arrivalMs: 0, inputTokens: 1, outputTokens: 1, sessionId });
 * const plan = [r("a", "s1"), r("b", "s2"), r("c", "s1"), r("d", "s3")];
 * const part = shardPlan(plan, { index: 0, count: 2 });
 * console.log(part.requests.map((q) => q.id), part.indices, part.by); // [ "a", "c", "d" ] [ 0, 2, 3 ] session
 * ```
 */
export function shardPlan(
  plan: readonly TraceRequest[],
  spec: ShardSpec,
): ShardPart {
  assertShardSpec(spec);
  const unitOfSession = new Map<string, number>();
  let units = 0;
  let bySession = false;
  const requests: TraceRequest[] = [];
  const indices: number[] = [];
  plan.forEach((r, i) => {
    let unit: number;
    if (r.sessionId !== undefined) {
      bySession = true;
      const known = unitOfSession.get(r.sessionId);
      if (known === undefined) {
        unit = units++;
        unitOfSession.set(r.sessionId, unit);
      } else unit = known;
    } else unit = units++;
    if (unit % spec.count === spec.index) {
      requests.push(r);
      indices.push(i);
    }
  });
  return { requests, indices, by: bySession ? "session" : "request", units };
}

/**
 * Throws a RangeError naming the bad value unless `0 <= index < count`, both integers.
 *
 * @example
 * ```ts
 * import { assertShardSpec } from "./shard.ts";
 * assertShardSpec({ index: 3, count: 4 }); // fine
 * try { assertShardSpec({ index: 4, count: 4 }); } catch (e) { console.log((e as Error).message); }
 * // Shard 4/4: expected an index from 0 to 3 (0-based), got 4
 * ```
 */
export function assertShardSpec(spec: ShardSpec): void {
  const { index, count } = spec;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(
      `Shard ${index}/${count}: expected a shard count that is an integer >= 1, got ${count}`,
    );
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(
      `Shard ${index}/${count}: expected an index from 0 to ${
        count - 1
      } (0-based), got ${index}`,
    );
  }
}

/**
 * The fingerprint of a plan: sha256 (hex) over every request's id, trace index, arrival,
 * lengths, session, turn, think time, SLO, images, block hashes and prompt, in plan order. Two
 * shards hold the same plan exactly when their fingerprints are equal (prompts included: the
 * same workload with another seed gives other prompts).
 *
 * @example
 * ```ts
 * import { planFingerprint } from "./shard.ts";
 * const a = [{ id: "0", arrivalMs: 0, inputTokens: 4, outputTokens: 2 }];
 * console.log(planFingerprint(a) === planFingerprint([{ ...a[0] }])); // true
 * console.log(planFingerprint(a) === planFingerprint([{ ...a[0], arrivalMs: 1 }])); // false
 * ```
 */
export function planFingerprint(plan: readonly TraceRequest[]): string {
  const h = createHash("sha256");
  for (const r of plan) {
    h.update(
      JSON.stringify([
        r.id,
        r.traceIndex ?? null,
        r.arrivalMs,
        r.inputTokens,
        r.outputTokens,
        r.sessionId ?? null,
        r.turn ?? null,
        r.thinkTimeMs ?? null,
        null, // was the per-request SLO (removed): fingerprints stay those of earlier builds
        r.numImages ?? null,
        r.prefixBlocks ?? null,
        r.prompt?.kind ?? null,
      ]),
    );
    const p = r.prompt;
    if (p?.kind === "token_ids") {
      // Raw little-endian int32s: prompts of millions of ids hash without a JSON string.
      h.update(new Uint8Array(Int32Array.from(p.ids).buffer));
    } else if (p?.kind === "text") h.update(p.text);
    else if (p?.kind === "chat") h.update(JSON.stringify(p.messages));
    h.update("\n");
  }
  return h.digest("hex");
}
