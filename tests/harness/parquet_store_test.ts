import assert from "node:assert/strict";
import { join } from "node:path";
import { exportStore } from "../../harness/parquet_export.ts";
import {
  openParquetStore,
  openResults,
  STORE_MARKER,
  storeTables,
} from "../../harness/parquet_store.ts";
import { insertShardFacts } from "../../harness/shard_facts.ts";
import { Store } from "../../harness/store.ts";
import { installViews, VIEW_FILES } from "../../reports/sql/views.ts";
import { assertRowsClose } from "../reports/_assert.ts";
import {
  createFixtureStore,
  RUN_A,
  RUN_B,
  RUN_C,
  RUN_D,
  RUN_E,
} from "../reports/_fixture.ts";
import { generatedRun } from "../reports/_runs.ts";

const POLICY = "'errors_and_timeouts_count_as_missed;cancelled_excluded'";

/** Every macro of VIEW_FILES with arguments that give rows over the fixture. */
const MACRO_CALLS: Record<string, string> = {
  failure_policy_name: `select failure_policy_name(${POLICY}) as name`,
  request_slo: "select * from request_slo(50, 20, null)",
  slo_attainment: "select * from slo_attainment(50, 20, null)",
  sweep_attainment: "select * from sweep_attainment(100, null, null)",
  sweep_capacity: "select * from sweep_capacity(0.9, 100, null, null)",
  bootstrap_compare:
    `select * from bootstrap_compare('${RUN_A.runId}', '${RUN_B.runId}',
    null, null, null, replicates := 20)`,
  run_statistics: "select * from run_statistics(50, 20, null)",
  between_run_compare:
    "select * from between_run_compare(['g1', 'g2'], ['g3'], null, null, null)",
  request_export: "select * from request_export(50, 20, null)",
};

/** A database with every table filled: fixture runs, a sweep, a group, engine rows, server timings, shards. */
async function fullDatabase() {
  const sweep = (value: number) => ({ id: "s1", axis: "rate" as const, value });
  const group = (index: number) => ({ id: "grp-1", index });
  const runs = [
    RUN_A,
    RUN_B,
    RUN_C,
    RUN_E,
    generatedRun({
      runId: "p1",
      schedMs: [0, 1000],
      ttftMs: [50, 50],
      sweep: sweep(1),
    }),
    generatedRun({
      runId: "p2",
      schedMs: [0, 500],
      ttftMs: [50, 150],
      sweep: sweep(2),
    }),
    generatedRun({
      runId: "g1",
      schedMs: [0, 100],
      ttftMs: [30, 40],
      group: group(0),
    }),
    generatedRun({
      runId: "g2",
      schedMs: [0, 100],
      ttftMs: [35, 45],
      group: group(1),
    }),
    generatedRun({ runId: "g3", schedMs: [0, 100], ttftMs: [60, 70] }),
  ];
  runs[4].workload = { seed: 3, source: { sha256: "ab" } };
  runs[4].options = { load: { rampUp: { kind: "linear", durationMs: 10 } } };
  runs[4].backendInfo = { model: "m", gpu: null };
  const fx = await createFixtureStore(runs, { views: false });
  const s = fx.store;
  await s.exec(
    `insert into sweeps values ('s1', 'demo', '2026-11-21 00:00:00+00', now(), 'rate', '1,2', 100,
       null, null, null, ${POLICY}, 0.9, 'all 2 points run')`,
  );
  await s.exec(
    `insert into run_groups values ('grp-1', 'main', '2026-11-21 00:00:00+00', 'repeat', 2)`,
  );
  await s.exec(
    `insert into engine_steps select '${RUN_A.runId}', i, i * 1000, i * 1000 + 10,
       case when i % 2 = 0 then null else i * 1000 + 20 end, i * 1000 + 30, i * 1000 + 40,
       i * 3, 2, 2, 1, 2, 5, 64, 1, 0, 0, 0, 2, 12.5 + i, 'sarathi', 'fused'
     from range(5) as t(i)`,
  );
  await s.exec(
    `insert into engine_tokens select '${RUN_A.runId}', 'r1', i, i, 100 + i, i * 1000 + 40
     from range(5) as t(i)`,
  );
  // Server timings (llama.cpp's, schema 7) on two of run A's requests.
  await s.exec(
    `update requests set server_prompt_tokens = 10, server_prompt_ms = 12.5,
       server_predicted_tokens = 4, server_predicted_ms = 30.0
     where run_id = '${RUN_A.runId}' and req_id in ('r1', 'r2')`,
  );
  await s.exec(
    `insert into calibrations (calibration_id, created_at, tool_version, host, rate_rps,
       n_requests, n_tokens, ttft_err_p50_ms, workers)
     values ('cal-1', '2026-11-21 00:00:00.123456+00', '0.1.0', '{"cpus":2}', 100, 10, 20, 0.1, 1)`,
  );
  await insertShardFacts(
    s,
    [0, 1].map((i) => ({
      runId: RUN_E.runId,
      shardIndex: i,
      shardCount: 2,
      shardBy: "session" as const,
      shardRunId: `shard-${i}`,
      planSha256: "c".repeat(64),
      planRequests: 4,
      shardRequests: 2,
      startAtUnixNs: 1_796_119_200_000_000_000n,
      startNs: 5_000_000_000n + BigInt(i),
      leadNs: 4_000_000_000n,
      hostClockOffsetNs: -300n,
      hostClockUncertaintyNs: 250n,
      hostClockDriftNs: i === 0 ? null : 15n,
      hostClockId: "boot-a",
      hostClockSynced: i === 0,
      hostClockEstErrorNs: 16_000_000_000n,
      sourceDb: `/x/s${i}.duckdb`,
      timeShiftNs: BigInt(1 - i),
    })),
  );
  await installViews(s);
  return fx;
}

async function rowsOrdered(store: Store, sql: string) {
  return await store.query(`select * from (${sql}) order by all`);
}

Deno.test("exportStore() and openParquetStore(): every table and every view round-trips exactly", async (t) => {
  const fx = await fullDatabase();
  const dir = join(fx.dir, "store");
  fx.store.close();
  const file = await Store.open(fx.path, { readOnly: true });
  await installViews(file);
  try {
    const result = await exportStore(fx.path, dir);
    assert.equal(result.exported.length, 9);
    assert.deepEqual(result.skipped, []);
    assert.deepEqual(result.otherRows, {
      calibrations: 1,
      run_groups: 1,
      sweeps: 1,
    });
    const store = await openParquetStore(dir);
    try {
      await installViews(store);
      const tables = await storeTables();
      await t.step("every table: same columns, types and rows", async () => {
        for (const table of tables) {
          const types = (s: Store) =>
            s.query(
              `select column_name, data_type from information_schema.columns
               where table_schema = 'main' and table_name = '${table.name}'
               order by ordinal_position`,
            );
          assert.deepEqual(await types(store), await types(file), table.name);
          const sql = `select * from ${table.name}`;
          const want = await rowsOrdered(file, sql);
          assert.ok(want.length > 0, `${table.name} has rows to compare`);
          assert.deepEqual(await rowsOrdered(store, sql), want, table.name);
        }
      });
      await t.step("every view: same rows", async () => {
        for (const v of VIEW_FILES.filter((v) => v.kind === "view")) {
          const sql = `select * from ${v.name}`;
          const want = await rowsOrdered(file, sql);
          assert.ok(want.length > 0, `${v.name} has rows to compare`);
          // sums may differ in the last place (parallel addition order): 1e-12 relative
          assertRowsClose(await rowsOrdered(store, sql), want);
        }
      });
      await t.step("every macro: same rows", async () => {
        for (const v of VIEW_FILES.filter((v) => v.kind === "macro")) {
          const sql = MACRO_CALLS[v.name];
          assert.ok(sql, `a call of macro ${v.name} in this test`);
          const want = await rowsOrdered(file, sql);
          assert.ok(want.length > 0, `${v.name} has rows to compare`);
          assertRowsClose(await rowsOrdered(store, sql), want);
        }
      });
    } finally {
      store.close();
    }
    await t.step("exporting again adds nothing", async () => {
      const again = await exportStore(fx.path, dir);
      assert.deepEqual(again.exported, []);
      assert.equal(again.skipped.length, 9);
      assert.ok(again.skipped.every((s) => s.why === "already in the store"));
      assert.deepEqual(again.otherRows, {
        calibrations: 0,
        run_groups: 0,
        sweeps: 0,
      });
    });
  } finally {
    file.close();
    await fx.dispose();
  }
});

Deno.test("exportStore() appends runs of many databases into one store, skipping running ones", async () => {
  const one = await createFixtureStore([RUN_A, RUN_D]);
  const two = await createFixtureStore([RUN_B]);
  const dir = join(one.dir, "store");
  try {
    one.store.close();
    two.store.close();
    const first = await exportStore(one.path, dir);
    assert.deepEqual(first.exported.map((r) => r.runId), [RUN_A.runId]);
    assert.deepEqual(first.skipped, [{
      runId: RUN_D.runId,
      why: "still running (export it once it has ended)",
    }]);
    const second = await exportStore(two.path, dir);
    assert.deepEqual(second.exported.map((r) => r.runId), [RUN_B.runId]);
    const store = await openResults(dir);
    try {
      assert.deepEqual(
        await store.query(
          "select run_id, count(*) over () as n from runs order by run_id",
        ),
        [
          { run_id: RUN_A.runId, n: 2n },
          { run_id: RUN_B.runId, n: 2n },
        ],
      );
      // partition values are text, whatever they look like
      assert.deepEqual(
        await store.query(
          "select distinct typeof(run_id) as t from requests",
        ),
        [{ t: "VARCHAR" }],
      );
    } finally {
      store.close();
    }
    // the running run, once ended, is exported by the next export
    const reopened = await Store.open(one.path);
    await reopened.finishRun(RUN_D.runId, "aborted", "SIGINT");
    reopened.close();
    const third = await exportStore(one.path, dir);
    assert.deepEqual(third.exported.map((r) => r.runId), [RUN_D.runId]);
  } finally {
    await one.dispose();
    await two.dispose();
  }
});

Deno.test("openParquetStore() shows a run only once its runs file is there", async () => {
  const fx = await createFixtureStore([RUN_A]);
  const dir = join(fx.dir, "store");
  try {
    fx.store.close();
    await exportStore(fx.path, dir);
    // an export cut short before its last rename: the other tables are in place, runs is not
    await Deno.remove(join(dir, "runs"), { recursive: true });
    const store = await openParquetStore(dir);
    try {
      assert.deepEqual(
        await store.query(
          `select (select count(*) from runs) as runs, (select count(*) from requests) as requests,
             (select count(*) from token_events) as events`,
        ),
        [{ runs: 0n, requests: 0n, events: 0n }],
      );
    } finally {
      store.close();
    }
    // exported again, its files are replaced, not added to
    const again = await exportStore(fx.path, dir);
    assert.deepEqual(again.exported.map((r) => r.runId), [RUN_A.runId]);
    const store2 = await openParquetStore(dir);
    try {
      assert.deepEqual(
        await store2.query("select count(*) as n from requests"),
        [{ n: BigInt(RUN_A.requests.length) }],
      );
    } finally {
      store2.close();
    }
  } finally {
    await fx.dispose();
  }
});

Deno.test("openParquetStore() refuses a folder that is not a store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-notstore-" });
  try {
    await assert.rejects(() => openResults(dir), {
      message:
        `Folder "${dir}" is not a tokentrace results store (no ${STORE_MARKER}): ` +
        `write one with tokentrace export --db results.duckdb --to ${dir}, or pass a .duckdb file`,
    });
    await Deno.writeTextFile(join(dir, STORE_MARKER), '{"format":"other/v9"}');
    await assert.rejects(() => openResults(dir), {
      message: `Store marker "${
        join(dir, STORE_MARKER)
      }": expected format "tokentrace.store/v1", got "other/v9" (written by another tokentrace version?)`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openParquetStore() reads files written before a column existed as NULL", async () => {
  const fx = await createFixtureStore([RUN_A]);
  const dir = join(fx.dir, "store");
  try {
    fx.store.close();
    await exportStore(fx.path, dir);
    // rewrite the requests file without a column (as an older tokentrace would have written it)
    const file = join(dir, "requests", `run_id=${RUN_A.runId}`, "data.parquet");
    const scratch = await Store.open(":memory:");
    await scratch.exec(
      `copy (select * exclude (attempt) from read_parquet('${file}')) to '${file}.old'
       (format parquet)`,
    );
    scratch.close();
    await Deno.rename(`${file}.old`, file);
    const store = await openParquetStore(dir);
    try {
      assert.deepEqual(
        await store.query(
          "select count(*) as n, count(attempt) as with_attempt from requests",
        ),
        [{ n: BigInt(RUN_A.requests.length), with_attempt: 0n }],
      );
    } finally {
      store.close();
    }
  } finally {
    await fx.dispose();
  }
});
