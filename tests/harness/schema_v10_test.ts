import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { SCHEMA_VERSION } from "../../harness/schema.ts";
import { recordedSlo } from "../../reports/results/recorded.ts";
import { installViews } from "../../reports/sql/views.ts";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { executeRun } from "../../harness/run_session.ts";
import { reqs } from "./_scripted.ts";
import { oldSchemaFile } from "./_old_schema.ts";

const run = (id: string, options: string, sweep = "null") =>
  `insert into runs (run_id, started_at, status, backend, options, clock_origin_unix_ns, sweep_id)
   values ('${id}', now(), 'completed', 'openai', ${options}, 0, ${sweep})`;

Deno.test("schema version 10 back-fills the SLO and failure policy of version 9 runs", async () => {
  const path = await oldSchemaFile(9, [
    run("plain", `'{"slo": {"ttftMs": 500, "tpotMs": 50}, "db": "r.duckdb"}'`),
    run("no-slo", `'{"db": "r.duckdb"}'`),
    run("no-options", "null"),
    run(
      "suite",
      `'{"slo": {"e2eMs": 2000}, "suiteFailurePolicy": "exclude-errors"}'`,
    ),
    run(
      "suite-sql-name",
      `'{"suiteFailurePolicy": "all_failures_count_as_missed"}'`,
    ),
    `insert into sweeps (sweep_id, started_at, axis, planned_values, slo_ttft_ms, slo_itl_ms,
       failure_policy, target_attainment)
     values ('sw', now(), 'rate', '1,2', 800, 40, 'all_failures_count_as_missed', 0.9)`,
    run("point", `'{"db": "r.duckdb"}'`, "'sw'"),
  ]);
  const store = await Store.open(path);
  try {
    assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
    const rows = await store.query(
      `select run_id, slo_ttft_ms, slo_tpot_ms, slo_e2e_ms, slo_itl_ms, slo_failure_policy
       from runs order by run_id`,
    );
    const row = (
      run_id: string,
      ttft: number | null,
      tpot: number | null,
      e2e: number | null,
      itl: number | null,
      policy: string | null,
    ) => ({
      run_id,
      slo_ttft_ms: ttft,
      slo_tpot_ms: tpot,
      slo_e2e_ms: e2e,
      slo_itl_ms: itl,
      slo_failure_policy: policy,
    });
    assert.deepStrictEqual(rows, [
      row("no-options", null, null, null, null, null),
      row("no-slo", null, null, null, null, null),
      row("plain", 500, 50, null, null, null),
      row("point", 800, null, null, 40, "all_failures_count_as_missed"),
      row(
        "suite",
        null,
        null,
        2000,
        null,
        "errors_and_timeouts_excluded;cancelled_excluded",
      ),
      row(
        "suite-sql-name",
        null,
        null,
        null,
        null,
        "all_failures_count_as_missed",
      ),
    ]);
    // The readers take the columns: what the runs recorded, as before the migration.
    assert.deepStrictEqual(await recordedSlo(store, "plain"), {
      ttftMs: 500,
      tpotMs: 50,
    });
    assert.deepStrictEqual(await recordedSlo(store, "point"), {
      ttftMs: 800,
      itlMs: 40,
    });
    assert.equal(await recordedSlo(store, "no-slo"), undefined);
  } finally {
    store.close();
  }
});

Deno.test("Store.createRun() writes the SLO and failure policy columns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-v10-" });
  const store = await Store.open(`${dir}/results.duckdb`);
  try {
    await store.createRun({
      runId: "r",
      backend: "openai",
      toolVersion: "0",
      clockOriginUnixNs: 0n,
      slo: { ttftMs: 200, itlMs: 30 },
      failurePolicy: "errors_and_timeouts_excluded;cancelled_excluded",
    });
    assert.deepStrictEqual(
      await store.query(
        `select slo_ttft_ms, slo_tpot_ms, slo_e2e_ms, slo_itl_ms, slo_failure_policy, options
         from runs`,
      ),
      [{
        slo_ttft_ms: 200,
        slo_tpot_ms: null,
        slo_e2e_ms: null,
        slo_itl_ms: 30,
        slo_failure_policy: "errors_and_timeouts_excluded;cancelled_excluded",
        options: null,
      }],
    );
  } finally {
    store.close();
  }
});

Deno.test("executeRun() records its load mode: a closed loop is not judged against a planned rate", async () => {
  const s = await startScriptedWorker({
    recordSends: false,
    timing: { ttftBaseMs: 2, ttftPerInputTokenMs: 0, itlMs: 2 },
  });
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: s.url,
    model: "scripted",
    nowNs: () => clock.nowNs(),
  });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-v10-" });
  try {
    for (const mode of ["open", "closed"] as const) {
      await executeRun({
        dbPath: `${dir}/${mode}.duckdb`,
        backend,
        clock,
        requests: reqs(6, 5, 2),
        load: mode === "closed" ? { mode, users: 2 } : { mode },
      });
      const store = await Store.open(`${dir}/${mode}.duckdb`, {
        readOnly: true,
      });
      try {
        await installViews(store);
        const [r] = await store.query(
          `select r.load_mode, f.value is null as unjudged
           from runs as r join run_fidelity as f using (run_id)
           where f.check_name = 'send_rate_deviation'`,
        );
        assert.deepStrictEqual(r, {
          load_mode: mode,
          unjudged: mode === "closed",
        });
      } finally {
        store.close();
      }
    }
  } finally {
    await backend.close();
    await s.close();
  }
});
