import assert from "node:assert/strict";
import {
  assertShardSpec,
  planFingerprint,
  shardPlan,
} from "../../harness/shard.ts";
import { planShardRun } from "../../harness/shard_facts.ts";
import { planSessions } from "../../harness/sessions.ts";
import { Rng } from "../../workloads/base/random.ts";
import type { TraceRequest } from "../../workloads/base/request.ts";

/** A random plan: sorted arrivals, a mix of session turns and requests without a session. */
function randomPlan(rng: Rng, n: number): TraceRequest[] {
  const sessions = rng.int(0, Math.max(1, n >> 1));
  const turns = new Map<string, number>();
  let t = 0;
  return Array.from({ length: n }, (_, i) => {
    t += rng.exponential(5);
    const r: TraceRequest = {
      id: `q${i}`,
      arrivalMs: t,
      inputTokens: rng.int(1, 100),
      outputTokens: rng.int(1, 50),
    };
    if (sessions > 0 && rng.next() < 0.6) {
      const s = `s${rng.int(0, sessions - 1)}`;
      const turn = turns.get(s) ?? 0;
      turns.set(s, turn + 1);
      r.sessionId = s;
      r.turn = turn;
    }
    return r;
  });
}

Deno.test("shardPlan() partitions random plans exactly, sessions whole, units balanced", () => {
  const rng = new Rng(18);
  for (let trial = 0; trial < 300; trial++) {
    const plan = randomPlan(rng, rng.int(0, 120));
    const count = rng.int(1, 9);
    const parts = Array.from(
      { length: count },
      (_, index) => shardPlan(plan, { index, count }),
    );
    const where = `trial ${trial} (${plan.length} requests, N = ${count})`;
    // Every request of the plan is in exactly one part, once.
    const seen = new Array(plan.length).fill(0);
    for (const part of parts) {
      part.indices.forEach((i, j) => {
        assert.equal(part.requests[j], plan[i], `${where}: index ${i}`);
        seen[i]++;
      });
      for (let j = 1; j < part.indices.length; j++) {
        assert.ok(part.indices[j] > part.indices[j - 1], `${where}: order`);
      }
    }
    assert.deepEqual(seen, plan.map(() => 1), where);
    // Sessions never split.
    const shardOf = new Map<string, number>();
    parts.forEach((part, k) => {
      for (const r of part.requests) {
        if (r.sessionId === undefined) continue;
        const other = shardOf.get(r.sessionId);
        assert.ok(
          other === undefined || other === k,
          `${where}: session ${r.sessionId} in shards ${other} and ${k}`,
        );
        shardOf.set(r.sessionId, k);
      }
    });
    // Units (sessions, or requests without one) are dealt evenly.
    const units = parts.map((p) =>
      new Set(p.requests.map((r) => r.sessionId ?? `#${r.id}`)).size
    );
    assert.ok(
      Math.max(...units) - Math.min(...units) <= 1,
      `${where}: units ${units}`,
    );
    assert.equal(units.reduce((a, b) => a + b, 0), parts[0].units, where);
    const bySession = plan.some((r) => r.sessionId !== undefined);
    for (const p of parts) {
      assert.equal(p.by, bySession ? "session" : "request", where);
    }
    // A shard's multi-turn replay chains the same turns as the whole plan's.
    const whole = planSessions(plan);
    for (const part of parts) {
      const own = planSessions(part.requests);
      for (const r of part.requests) {
        assert.equal(own.next.get(r.id), whole.next.get(r.id), where);
      }
    }
    // Deterministic: the same plan gives the same parts.
    assert.deepEqual(
      shardPlan(plan, { index: count - 1, count }).indices,
      parts[count - 1].indices,
    );
  }
});

Deno.test("shardPlan() deals units round-robin in plan order", async (t) => {
  const r = (id: string, sessionId?: string) => ({
    id,
    arrivalMs: 0,
    inputTokens: 1,
    outputTokens: 1,
    sessionId,
  });
  await t.step("requests without sessions: every N-th", () => {
    const plan = ["a", "b", "c", "d", "e"].map((id) => r(id));
    assert.deepEqual(
      shardPlan(plan, { index: 1, count: 2 }).requests.map((q) => q.id),
      ["b", "d"],
    );
  });
  await t.step("a session goes where its first turn goes", () => {
    const plan = [r("a", "x"), r("b"), r("c", "x"), r("d", "y"), r("e")];
    assert.deepEqual(
      shardPlan(plan, { index: 0, count: 2 }).requests.map((q) => q.id),
      ["a", "c", "d"],
    );
    assert.deepEqual(
      shardPlan(plan, { index: 1, count: 2 }).requests.map((q) => q.id),
      ["b", "e"],
    );
  });
  await t.step("more shards than units: the last ones are empty", () => {
    const part = shardPlan([r("a")], { index: 2, count: 3 });
    assert.deepEqual(part.requests, []);
    assert.equal(part.units, 1);
  });
});

Deno.test("assertShardSpec() refuses indices outside 0..N-1", async (t) => {
  await t.step("index = N", () => {
    assert.throws(() => assertShardSpec({ index: 4, count: 4 }), {
      message: "Shard 4/4: expected an index from 0 to 3 (0-based), got 4",
    });
  });
  await t.step("N = 0", () => {
    assert.throws(() => assertShardSpec({ index: 0, count: 0 }), {
      message:
        "Shard 0/0: expected a shard count that is an integer >= 1, got 0",
    });
  });
});

Deno.test("planFingerprint() changes with anything a shard sends", async (t) => {
  const base: TraceRequest[] = [
    {
      id: "0",
      arrivalMs: 0,
      inputTokens: 4,
      outputTokens: 2,
      prompt: { kind: "token_ids", ids: [1, 2, 3, 4] },
    },
    { id: "1", arrivalMs: 5, inputTokens: 3, outputTokens: 2, sessionId: "s" },
  ];
  const fp = planFingerprint(base);
  await t.step("equal plans, equal fingerprints", () => {
    assert.equal(planFingerprint(structuredClone(base)), fp);
    assert.match(fp, /^[0-9a-f]{64}$/);
  });
  const changed: [string, TraceRequest[]][] = [
    ["arrival", [base[0], { ...base[1], arrivalMs: 6 }]],
    ["output length", [base[0], { ...base[1], outputTokens: 3 }]],
    ["session", [base[0], { ...base[1], sessionId: "t" }]],
    ["prompt ids", [{
      ...base[0],
      prompt: { kind: "token_ids", ids: [1, 2, 3, 5] },
    }, base[1]]],
    ["order", [base[1], base[0]]],
    ["one request fewer", [base[0]]],
  ];
  for (const [what, plan] of changed) {
    await t.step(what, () => assert.notEqual(planFingerprint(plan), fp));
  }
});

Deno.test("planShardRun() cuts the whole plan at --max-sent before sharing it out", () => {
  const plan = Array.from({ length: 10 }, (_, i) => ({
    id: `r${i}`,
    arrivalMs: i,
    inputTokens: 1,
    outputTokens: 1,
  }));
  const parts = [0, 1, 2].map((index) =>
    planShardRun(plan, { maxRequests: 7, sessions: true }, { index, count: 3 })
  );
  assert.deepEqual(parts.map((p) => p.part.indices), [[0, 3, 6], [1, 4], [
    2,
    5,
  ]]);
  for (const p of parts) {
    assert.equal(p.planRequests, 7);
    assert.equal(p.planSha256, planFingerprint(plan.slice(0, 7)));
    assert.deepEqual(p.load, { maxRequests: undefined, sessions: true });
  }
});
