/**
 * Hand-built result databases for the reports tests: runs, requests and token events with
 * chosen times, written into a real DuckDB file in a temporary directory.
 *
 * Times are given in whole milliseconds on the run clock and stored as nanoseconds, so that
 * every expected value in the tests can be worked out by hand. The denormalised columns of
 * `requests` (first/last token, chunk and token counts) are filled as the recorder would.
 *
 * @module
 */
import { join } from "node:path";
import { Store } from "../../harness/store.ts";
import { installViews } from "../../reports/sql/views.ts";

export * from "./_fixture_runs.ts";
import { type FixtureRun, ms } from "./_fixture_runs.ts";

/** A result database in a fresh temporary directory; `dispose()` closes and deletes it. */
export interface FixtureStore {
  store: Store;
  dir: string;
  path: string;
  dispose(): Promise<void>;
}

/** Options of {@linkcode createFixtureStore}. */
export interface FixtureOptions {
  /** Install the views after inserting. Default `true`. */
  views?: boolean;
}

/** Creates a database file holding `runs`, with the views installed unless asked not to. */
export async function createFixtureStore(
  runs: FixtureRun[],
  options: FixtureOptions = {},
): Promise<FixtureStore> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-reports-" });
  const path = join(dir, "results.duckdb");
  const store = await Store.open(path);
  for (const run of runs) await insertRun(store, run);
  if (options.views ?? true) await installViews(store);
  let closed = false;
  return {
    store,
    dir,
    path,
    async dispose() {
      if (!closed) store.close();
      closed = true;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Inserts one run with its requests and token events. */
export async function insertRun(store: Store, run: FixtureRun): Promise<void> {
  await store.exec(
    `insert into runs (run_id, label, started_at, finished_at, status, backend, tool_version,
       clock_origin_unix_ns, end_reason, warmup_ns, cooldown_ns, sweep_id, sweep_axis,
       sweep_value, suite, scenario, group_id, group_index, workload, options, backend_info)
     values ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, '0.1.0',
       epoch_ns($3::timestamptz), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::json,
       $18::json, $19::json)`,
    [
      run.runId,
      run.label,
      run.startedAt,
      run.finishedAt,
      run.status,
      run.backend,
      run.endReason,
      run.warmupMs === undefined ? null : ms(run.warmupMs),
      run.cooldownMs === undefined ? null : ms(run.cooldownMs),
      run.sweep?.id ?? null,
      run.sweep?.axis ?? null,
      run.sweep?.value ?? null,
      run.suite?.suite ?? null,
      run.suite?.scenario ?? null,
      run.group?.id ?? null,
      run.group?.index ?? null,
      run.workload === undefined ? null : JSON.stringify(run.workload),
      run.options === undefined ? null : JSON.stringify(run.options),
      run.backendInfo === undefined ? null : JSON.stringify(run.backendInfo),
    ],
  );
  for (const r of run.requests) {
    const bearing = r.events.filter(([, , n]) => n >= 1);
    const times = bearing.map(([, t]) => t);
    await store.exec(
      `insert into requests (run_id, req_id, scheduled_ns, sent_ns, first_token_ns,
         last_token_ns, done_ns, input_tokens_planned, output_tokens_planned,
         prompt_tokens_reported, completion_tokens_reported, output_chunks,
         output_tokens_counted, status, http_status, error, first_byte_ns, cached_tokens,
         finish_reason)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
         $18, $19)`,
      [
        run.runId,
        r.reqId,
        ms(r.schedMs),
        r.sentMs === null ? null : ms(r.sentMs),
        times.length === 0 ? null : ms(Math.min(...times)),
        times.length === 0 ? null : ms(Math.max(...times)),
        r.doneMs === null ? null : ms(r.doneMs),
        r.inputTokensPlanned,
        r.outputTokensPlanned,
        r.promptTokensReported,
        r.completionTokensReported,
        bearing.length,
        bearing.reduce((sum, [, , n]) => sum + n, 0),
        r.status,
        r.httpStatus ?? null,
        r.error ?? null,
        r.firstByteMs === undefined ? null : ms(r.firstByteMs),
        r.cachedTokens ?? null,
        r.finishReason ?? null,
      ],
    );
    for (const [seq, t, n, channel] of r.events) {
      await store.exec(
        `insert into token_events (run_id, req_id, seq, t_ns, n_tokens, channel)
         values ($1, $2, $3, $4, $5, $6)`,
        [run.runId, r.reqId, seq, ms(t), n, channel ?? "content"],
      );
    }
  }
}

/** Runs an invariant query (it selects the violating rows) and returns them: expect `[]`. */
export async function violations(
  store: Store,
  sql: string,
): Promise<Record<string, unknown>[]> {
  return await store.query(sql);
}
