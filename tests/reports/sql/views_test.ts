import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { installViews, VIEW_FILES } from "../../../reports/sql/views.ts";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

const NAMES = VIEW_FILES.map((v) => v.name);

/** Our views and macros as the catalog lists them: name -> temporary. */
async function catalog(store: Store): Promise<Record<string, boolean>> {
  const rows = await store.query(
    `select view_name as name, temporary from duckdb_views() where not internal
     union all
     select function_name, database_name = 'temp' from duckdb_functions()
     where function_type in ('table_macro', 'macro') and not internal
     order by name`,
  );
  return Object.fromEntries(
    rows.filter((r) => NAMES.includes(r.name as string))
      .map((r) => [r.name as string, r.temporary as boolean]),
  );
}

/** SQL files a module of its own installs (not views over the result tables). */
const STANDALONE = new Set([
  "calibration_errors", // reports/results/calibration.ts, over the calibration run's temp tables
]);

Deno.test("VIEW_FILES lists every file of reports/sql/ exactly once", async () => {
  const files: string[] = [];
  for await (
    const e of Deno.readDir(new URL("../../../reports/sql/", import.meta.url))
  ) {
    const name = e.name.slice(0, -4);
    if (e.isFile && e.name.endsWith(".sql") && !STANDALONE.has(name)) {
      files.push(name);
    }
  }
  assert.deepStrictEqual([...NAMES].sort(), files.sort());
});

Deno.test("installViews()", async (t) => {
  await t.step("persists views and macros into the database file", async () => {
    const fx = await createFixtureStore([RUN_A], { views: false });
    try {
      const installed = await installViews(fx.store);
      assert.deepStrictEqual(installed, { names: NAMES, temporary: false });
      fx.store.close();
      // A later reader (duckdb CLI, Python) finds them without installing anything.
      const reader = await Store.open(fx.path, { readOnly: true });
      try {
        assert.deepStrictEqual(
          await catalog(reader),
          Object.fromEntries([...NAMES].sort().map((n) => [n, false])),
        );
        assert.deepStrictEqual(
          await reader.query(`select count(*)::int as n from request_metrics`),
          [{ n: 6 }],
        );
      } finally {
        reader.close();
      }
    } finally {
      await Deno.remove(fx.dir, { recursive: true });
    }
  });

  await t.step("is idempotent", async () => {
    const fx = await createFixtureStore([RUN_A]);
    try {
      const before = await fx.store.query(`select * from run_throughput`);
      await installViews(fx.store);
      await installViews(fx.store);
      assert.deepStrictEqual(
        await fx.store.query(`select * from run_throughput`),
        before,
      );
    } finally {
      await fx.dispose();
    }
  });

  await t.step(
    "creates TEMP views on a read-only store, leaving the file as it was",
    async () => {
      const fx = await createFixtureStore([RUN_A], { views: false });
      try {
        fx.store.close();
        const reader = await Store.open(fx.path, { readOnly: true });
        try {
          assert.deepStrictEqual(await installViews(reader), {
            names: NAMES,
            temporary: true,
          });
          assert.deepStrictEqual(
            await catalog(reader),
            Object.fromEntries([...NAMES].sort().map((n) => [n, true])),
          );
          assert.deepStrictEqual(
            await reader.query(`select n_met from slo_attainment(30, 15, 90)`),
            [{ n_met: 2n }],
          );
        } finally {
          reader.close();
        }
        const again = await Store.open(fx.path, { readOnly: true });
        try {
          assert.deepStrictEqual(await catalog(again), {});
        } finally {
          again.close();
        }
      } finally {
        await Deno.remove(fx.dir, { recursive: true });
      }
    },
  );

  await t.step(
    "on a read-only store, its definitions win over stale persisted ones",
    async () => {
      const fx = await createFixtureStore([RUN_A], { views: false });
      try {
        await fx.store.exec(
          `create view request_metrics as select 'stale' as definition`,
        );
        fx.store.close();
        const reader = await Store.open(fx.path, { readOnly: true });
        try {
          await installViews(reader);
          assert.deepStrictEqual(
            await reader.query(
              `select req_id, ttft_ms from request_metrics where req_id = 'r1'`,
            ),
            [{ req_id: "r1", ttft_ms: 50 }],
          );
        } finally {
          reader.close();
        }
      } finally {
        await Deno.remove(fx.dir, { recursive: true });
      }
    },
  );
});
