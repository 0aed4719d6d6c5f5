import assert from "node:assert/strict";
import { assertRowsClose } from "../_assert.ts";
import { Store } from "../../../harness/store.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { VIEW_FILES } from "../../../reports/sql/views.ts";
import {
  createFixtureStore,
  RUN_A,
  RUN_B,
  RUN_C,
  RUN_D,
  RUN_E,
} from "../_fixture.ts";

const VIEWS = VIEW_FILES.filter((v) => v.kind === "view").map((v) => v.name);

/** A view's rows in a fixed order (its key columns first), request_key left out. */
function ordered(view: string): string {
  return `select * exclude (request_key) from ${view} order by all`;
}

async function columnsOf(store: Store, view: string): Promise<string[]> {
  const rows = await store.query(`select * from ${view} limit 0`);
  if (rows.length > 0) return Object.keys(rows[0]);
  const d = await store.query(`describe ${view}`);
  return d.map((r) => r.column_name as string);
}

Deno.test("openSnapshot()", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B, RUN_C, RUN_D, RUN_E]);
  try {
    await t.step("every view has the same rows as over the store", async () => {
      const snapshot = await openSnapshot(fx.store);
      try {
        for (const view of VIEWS) {
          const cols = await columnsOf(fx.store, view);
          const sql = cols.includes("request_key")
            ? ordered(view)
            : `select * from ${view} order by all`;
          // sums may differ in the last place (parallel addition order): 1e-12 relative
          assertRowsClose(await snapshot.query(sql), await fx.store.query(sql));
        }
      } finally {
        snapshot.close();
      }
    });

    await t.step("restricted to runs, it sees only those", async () => {
      const snapshot = await openSnapshot(fx.store, { runIds: [RUN_B.runId] });
      try {
        assert.deepStrictEqual(
          await snapshot.query(`select run_id from run_throughput`),
          [{ run_id: RUN_B.runId }],
        );
        assertRowsClose(
          await snapshot.query(
            `select * from run_latency_summary order by all`,
          ),
          await fx.store.query(
            `select * from run_latency_summary where run_id = $1 order by all`,
            [RUN_B.runId],
          ),
        );
        // the store's own connection still sees every run
        assert.equal(
          (await fx.store.query(`select count(*)::int as n from runs`))[0].n,
          5,
        );
      } finally {
        snapshot.close();
      }
    });

    await t.step("macros work over the snapshot", async () => {
      const snapshot = await openSnapshot(fx.store, { runIds: [RUN_A.runId] });
      try {
        assert.deepStrictEqual(
          await snapshot.query(
            `select run_id, n_met, attainment from slo_attainment(null, null, null)`,
          ),
          [{ run_id: RUN_A.runId, n_met: 3n, attainment: 0.6 }],
        );
      } finally {
        snapshot.close();
      }
    });
  } finally {
    await fx.dispose();
  }
});

Deno.test("openSnapshot() works on a read-only store and leaves the file unchanged", async () => {
  const fx = await createFixtureStore([RUN_A]);
  fx.store.close();
  try {
    const before = await Deno.readFile(fx.path);
    const reader = await Store.open(fx.path, { readOnly: true });
    try {
      const snapshot = await openSnapshot(reader, { runIds: [RUN_A.runId] });
      assert.equal(
        (await snapshot.query(
          `select count(*)::int as n from request_metrics`,
        ))[0].n,
        6,
      );
      snapshot.close();
    } finally {
      reader.close();
    }
    assert.deepStrictEqual(await Deno.readFile(fx.path), before);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});
