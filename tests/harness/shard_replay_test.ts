import assert from "node:assert/strict";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { pickedForCancel } from "../../harness/load_plan.ts";
import { executeRun } from "../../harness/run_session.ts";
import { shardPlan } from "../../harness/shard.ts";
import { Store } from "../../harness/store.ts";
import { reqs, tempDb } from "./_scripted.ts";

const FAST = { timing: { ttftBaseMs: 2, ttftPerInputTokenMs: 0, itlMs: 2 } };

/** A shard's part run into a real database from a given start; returns its request rows. */
async function shardRun(
  workers: number,
  startIn: (clock: RunClock) => bigint,
  index: number,
) {
  const s = await startScriptedWorker({ recordSends: false, ...FAST });
  const db = await tempDb();
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: s.url,
    model: "scripted",
    nowNs: () => clock.nowNs(),
  });
  const plan = reqs(24, 3, 2);
  const part = shardPlan(plan, { index, count: 3 });
  const startNs = startIn(clock);
  try {
    const r = await executeRun({
      dbPath: db,
      backend,
      clock,
      requests: part.requests,
      indices: part.indices,
      startNs,
      workers,
      load: { cancel: { rate: 0.5, delayMs: 0, seed: 7 } },
    });
    const store = await Store.open(db, { readOnly: true });
    try {
      const rows = await store.query(
        `select req_id, status, scheduled_ns from requests order by scheduled_ns, req_id`,
      );
      return { r, rows, startNs, plan, part };
    } finally {
      store.close();
    }
  } finally {
    await backend.close();
    await s.close();
  }
}

/**
 * {@linkcode shardRun} with the start `leadMs` ahead, retried with 4 times the lead while the
 * run reports that it was not ready in time (sender threads take seconds to start on busy cores).
 */
async function shardRunAhead(workers: number, index: number) {
  for (let leadMs = 1000;; leadMs *= 4) {
    try {
      return await shardRun(
        workers,
        (clock) => clock.nowNs() + BigInt(leadMs) * 1_000_000n,
        index,
      );
    } catch (e) {
      const late = (e as Error).message.startsWith(
        "The shared start time (--start-at) passed",
      );
      if (!late || leadMs >= 64_000) throw e;
    }
  }
}

for (const workers of [1, 2]) {
  Deno.test(
    `executeRun() with a shared start and plan indices (${workers} sender thread${
      workers > 1 ? "s" : ""
    }): sends at start + arrival, cancels what the whole run would`,
    async () => {
      const { r, rows, startNs, plan, part } = await shardRunAhead(workers, 1);
      assert.equal(r.status, "completed");
      assert.deepEqual(
        rows.map((x) => x.req_id),
        part.requests.map((q) => q.id),
      );
      part.requests.forEach((q, j) => {
        assert.equal(
          BigInt(rows[j].scheduled_ns as bigint),
          startNs + BigInt(Math.round(q.arrivalMs * 1e6)),
          q.id,
        );
        // Picked by the index in the whole plan, not in the shard's part.
        const i = plan.indexOf(q);
        const picked = pickedForCancel(i, { rate: 0.5, delayMs: 0, seed: 7 });
        assert.equal(rows[j].status === "cancelled", picked, q.id);
      });
      assert.ok(rows.some((x) => x.status === "cancelled"));
      assert.ok(rows.some((x) => x.status === "ok"));
    },
  );

  Deno.test(
    `executeRun() fails a run whose shared start has passed (${workers} sender thread${
      workers > 1 ? "s" : ""
    })`,
    async () => {
      await assert.rejects(
        () => shardRun(workers, (clock) => clock.nowNs() - 5_000_000n, 0),
        (e: Error) => {
          assert.match(
            e.message,
            /^The shared start time \(--start-at\) passed \d+\.\d ms before this run was ready to send \(it had loaded the workload, started its threads and opened the database\): pass a --start-at further ahead, the same to every shard$/,
          );
          return true;
        },
      );
    },
  );
}
