import { assertRowsClose } from "../_assert.ts";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";
import {
  insertShardFacts,
  type ShardFactsRow,
} from "../../../harness/shard_facts.ts";
import { installViews } from "../../../reports/sql/views.ts";

const us = (v: number) => BigInt(Math.round(v * 1000)); // microseconds as ns

/** A run_shards row with the clock terms under test; the rest fixed. */
function shard(
  runId: string,
  index: number,
  count: number,
  clock: { u: number; d: number | null; id: string | null; e: number | null },
  leadMs = 5000,
): ShardFactsRow {
  return {
    runId,
    shardIndex: index,
    shardCount: count,
    shardBy: "request",
    shardRunId: `${runId}-shard${index}`,
    planSha256: "ab".repeat(32),
    planRequests: 2,
    shardRequests: 1,
    startAtUnixNs: 1_796_119_200_000_000_000n,
    startNs: 5_000_000_000n,
    leadNs: BigInt(leadMs) * 1_000_000n,
    hostClockOffsetNs: 0n,
    hostClockUncertaintyNs: us(clock.u),
    hostClockDriftNs: clock.d === null ? null : us(clock.d),
    hostClockId: clock.id,
    hostClockSynced: clock.e === null ? null : true,
    hostClockEstErrorNs: clock.e === null ? null : us(clock.e),
    sourceDb: null,
    timeShiftNs: 0n,
  };
}

const run = (runId: string) =>
  generatedRun({ runId, schedMs: [0, 10], ttftMs: [20, 20] });

Deno.test("run_shard_clock view", async (t) => {
  const fx = await createFixtureStore(
    ["one-host", "two-hosts", "unknown", "single", "plain"].map(run),
    { views: false },
  );
  try {
    // u (reading uncertainty), d (drift), e (kernel's estimated error) in microseconds
    await insertShardFacts(fx.store, [
      // one machine: one clock, whose 16 s error the shards share (not counted)
      shard("one-host", 0, 3, { u: 0.5, d: -1, id: "boot-a", e: 16e6 }, 4200),
      shard("one-host", 1, 3, { u: 0.2, d: 2, id: "boot-a", e: 16e6 }, 3900),
      shard("one-host", 2, 3, { u: 0.3, d: 0, id: "boot-a", e: 16e6 }),
      // shard 2 on another machine: its error and shard 0's (12 ms) count
      shard("two-hosts", 0, 3, { u: 1, d: 0, id: "boot-a", e: 12_000 }),
      shard("two-hosts", 1, 3, { u: 1, d: 0, id: "boot-a", e: 50 }),
      shard("two-hosts", 2, 3, { u: 1, d: 0, id: "boot-b", e: 200 }),
      // another machine whose kernel error is unknown: unknown, not the known part
      shard("unknown", 0, 2, { u: 1, d: 0, id: "boot-a", e: 30 }),
      shard("unknown", 1, 2, { u: 1, d: 0, id: "boot-c", e: null }),
      // a shard's own database: nothing to disagree with
      shard("single", 1, 2, { u: 0.4, d: 3, id: "boot-a", e: 16e6 }, 800),
    ]);
    await installViews(fx.store);

    await t.step(
      "one row per run with shard rows, worked out by hand",
      async () => {
        const rows = await fx.store.query(
          "select * from run_shard_clock order by run_id",
        );
        const row = (
          run_id: string,
          shards: number,
          clocks: number,
          u: number,
          d: number,
          sync: number | null,
          lead: number,
          disagreement: number | null,
          shard_count = 3,
        ) => ({
          run_id,
          shards: BigInt(shards),
          shard_count,
          clocks: BigInt(clocks),
          start_uncertainty_max_ms: u,
          drift_max_ms: d,
          sync_error_ms: sync,
          lead_min_ms: lead,
          clock_disagreement_ms: disagreement,
        });
        assertRowsClose(rows, [
          // pairs: (0,1) 0.5+0.2+1+2 = 3.7 us; (0,2) 0.5+0.3+1+0 = 1.8; (1,2) 0.2+0.3+2 = 2.5
          row("one-host", 3, 1, 0.0005, 0.002, 0, 3900, 0.0037),
          // there is one shard row only: no pair
          row("single", 1, 1, 0.0004, 0.003, null, 800, null, 2),
          // (0,1) one clock: 2 us; (0,2) 2 us + 12 ms + 0.2 ms; (1,2) 2 us + 0.05 + 0.2 ms
          row("two-hosts", 3, 2, 0.001, 0, 12.2, 5000, 12.202),
          row("unknown", 2, 2, 0.001, 0, null, 5000, null, 2),
        ]);
      },
    );

    await t.step("run_fidelity check 14, for sharded runs only", async () => {
      const rows = await fx.store.query(
        `select run_id, check_name, value, threshold, n, flagged from run_fidelity
         where check_order = 14 order by run_id`,
      );
      const check = (
        run_id: string,
        value: number | null,
        n: number,
        flagged: boolean | null,
      ) => ({
        run_id,
        check_name: "shard_clock_disagreement_ms",
        value,
        threshold: 10,
        n: BigInt(n),
        flagged,
      });
      assertRowsClose(rows, [
        check("one-host", 0.0037, 3, false),
        check("single", null, 1, null),
        check("two-hosts", 12.202, 3, true),
        check("unknown", null, 2, null),
      ]);
      const plain = await fx.store.query(
        "select count(*)::int as n from run_fidelity where run_id = 'plain'",
      );
      assertRowsClose(plain, [{ n: 13 }]);
    });
  } finally {
    await fx.dispose();
  }
});
