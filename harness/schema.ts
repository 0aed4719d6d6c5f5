/**
 * The result database schema and its forward migrations.
 *
 * Version N of the schema is reached by applying `MIGRATIONS[0..N-1]` in order; each runs in
 * one transaction together with the version bump, so a file is always at a whole version.
 * Times (`*_ns`) are nanoseconds on the run clock (0 = run start); `runs.clock_origin_unix_ns`
 * anchors it to the wall clock.
 *
 * @module
 */

/** One forward migration: a version number and the SQL statements that reach it. */
export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

/** All migrations, oldest first. Never edit a released one: append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, requests, token_events",
    statements: [
      `create table runs (
        run_id varchar primary key,          -- uuid
        label varchar,
        started_at timestamptz not null,
        finished_at timestamptz,
        status varchar not null check (status in ('running','completed','aborted','failed')),
        backend varchar not null,
        backend_info json,
        workload json,
        options json,
        tool_version varchar,
        git_rev varchar,
        host json,
        clock_origin_unix_ns bigint not null, -- wall clock at run-clock t = 0
        end_reason varchar                    -- why a run ended as it did (signal, error message)
      )`,
      `create table requests (
        run_id varchar not null,
        req_id varchar not null,
        trace_index bigint,
        session_id varchar,
        turn integer,
        scheduled_ns bigint,
        sent_ns bigint,
        first_byte_ns bigint,
        first_token_ns bigint,
        last_token_ns bigint,
        done_ns bigint,
        input_tokens_planned integer,
        output_tokens_planned integer,
        prompt_tokens_reported integer,
        completion_tokens_reported integer,
        cached_tokens integer,
        output_chunks integer,                -- token-bearing chunks received
        output_tokens_counted integer,        -- tokens counted from chunks
        status varchar not null check (status in ('ok','error','timeout','cancelled')),
        http_status integer,
        error_kind varchar,
        error varchar,
        finish_reason varchar
      )`,
      `create table token_events (
        run_id varchar not null,
        req_id varchar not null,
        seq integer not null,                 -- 0-based index of the chunk within the request
        t_ns bigint not null,
        n_tokens integer not null,
        channel varchar not null              -- content | reasoning | tool
      )`,
    ],
  },
  {
    version: 2,
    description:
      "reports: runs grouped by sweep and suite, measurement trims, sweeps",
    statements: [
      // A sweep point is an ordinary run; these say which sweep it belongs to and where.
      `alter table runs add column sweep_id varchar`,
      `alter table runs add column sweep_axis varchar`, // speedup | rate | concurrency
      `alter table runs add column sweep_value double`, // requested speedup, rate (req/s) or cap
      // A scheduled regression run: the suite label and the scenario within it.
      `alter table runs add column suite varchar`,
      `alter table runs add column scenario varchar`,
      // Measurement window trims (also in options JSON): warm-up after the first send,
      // cool-down before the last completion. NULL reads as 0 (no trim).
      `alter table runs add column warmup_ns bigint`,
      `alter table runs add column cooldown_ns bigint`,
      `create table sweeps (
        sweep_id varchar primary key,
        label varchar,
        started_at timestamptz not null,
        finished_at timestamptz,
        axis varchar not null check (axis in ('speedup','rate','concurrency')),
        planned_values varchar not null,      -- comma-separated, in the order run
        slo_ttft_ms double,                   -- the SLO the sweep judged attainment by
        slo_tpot_ms double,
        slo_e2e_ms double,
        slo_itl_ms double,
        failure_policy varchar not null,
        target_attainment double not null,    -- capacity at this fraction (0..1), e.g. 0.9
        stop_reason varchar                   -- why the sweep ended (all points run, collapsed)
      )`,
    ],
  },
  {
    version: 3,
    description: "built-in engine: engine_steps, engine_tokens",
    statements: [
      // One row per step of the built-in WebGPU engine (adapters/webgpu/serving/engine_loop.ts).
      // Times are run-clock ns; GPU times are timestamp queries mapped to the run clock with a
      // measured offset (NULL on adapters without timestamp-query).
      `create table engine_steps (
        run_id varchar not null,
        step integer not null,                -- 0-based step index of the engine
        t_sched_ns bigint not null,           -- host began scheduling the step
        t_submit_ns bigint not null,          -- just before the step was submitted to the GPU
        t_gpu_start_ns bigint,                -- the step's compute pass began on the GPU
        t_gpu_end_ns bigint,                  -- ... and ended: its sampled tokens exist
        t_readback_ns bigint not null,        -- its sampled tokens were read back on the host
        prefill_tokens integer not null,      -- query tokens of prefill chunks
        decode_tokens integer not null,       -- decode tokens (one per decoding sequence)
        num_seqs integer not null,
        num_prefill_seqs integer not null,
        sample_rows integer not null,         -- sequences that sampled a token in this step
        kv_blocks_used integer not null,      -- 16-token KV blocks referenced after scheduling
        kv_blocks_total integer not null,
        kv_blocks_cached integer not null,    -- blocks kept in the prefix cache (used or not)
        prefix_hit_tokens integer not null,   -- prompt tokens of admissions served from the cache
        preempted integer not null,           -- sequences preempted (freed, recomputed later)
        waiting integer not null,             -- requests waiting after scheduling
        running integer not null,             -- sequences holding a slot after scheduling
        cpu_us double not null,               -- host time: schedule + pack + encode + submit
        policy varchar not null,              -- prefill-first | sarathi | decode-first
        attention varchar not null            -- fused | serial
      )`,
      // One row per sampled token the engine delivered: joins client tokens to server steps.
      `create table engine_tokens (
        run_id varchar not null,
        req_id varchar not null,
        token_index integer not null,         -- 0-based among the request's output tokens
        step integer not null,                -- engine_steps.step that sampled it
        token_id integer not null,
        t_delivered_ns bigint not null        -- read back on the host (client-visible delivery)
      )`,
    ],
  },
  {
    version: 4,
    description: "harness: concurrency-cap queueing, retries, calibrations",
    statements: [
      // When the pacer released the request; sent_ns - released_ns is the wait for a
      // concurrency slot (0 without a cap), released_ns - scheduled_ns the pacer's own lag.
      `alter table requests add column released_ns bigint`,
      // 0 for the first try; retries (off by default) are rows of their own with 1, 2, ...
      `alter table requests add column attempt integer`,
      // One row per `tokentrace calibrate`: the harness's own measurement error against the
      // scripted server, whose send times are the truth. Times in ms.
      `create table calibrations (
        calibration_id varchar primary key,
        created_at timestamptz not null,
        tool_version varchar,
        host json,
        rate_rps double,                      -- offered request rate (open loop)
        streams integer,                      -- concurrent streams asked for
        itl_ms double,                        -- the scripted server's token gap
        n_requests integer not null,
        n_tokens integer not null,
        ttft_err_p50_ms double, ttft_err_p99_ms double, ttft_err_max_ms double,
        gap_err_p50_ms double, gap_err_p99_ms double, gap_err_max_ms double,
        token_err_p50_ms double, token_err_p99_ms double, token_err_max_ms double,
        schedule_lag_p50_ms double, schedule_lag_p99_ms double, schedule_lag_max_ms double
      )`,
    ],
  },
  {
    version: 5,
    description: "harness: calibrations record their sender threads",
    statements: [
      // Sender threads of the calibration run (1: one event loop; more: spread over workers).
      // Null in calibrations made before version 5, which all used one thread.
      `alter table calibrations add column workers integer`,
    ],
  },
  {
    version: 6,
    description:
      "reports: groups of repeated runs (run --repeat, suite repeats)",
    statements: [
      // N runs of one configuration, recorded one after another so that comparisons can see
      // run-to-run variation (reports/sql/between_run_compare.sql).
      `create table run_groups (
        group_id varchar primary key,
        label varchar,
        created_at timestamptz not null,
        kind varchar not null check (kind in ('repeat','suite')),
        repeats integer not null              -- runs planned; fewer when it was stopped
      )`,
      `alter table runs add column group_id varchar`,
      `alter table runs add column group_index integer`, // 0-based position in the group
    ],
  },
  {
    version: 7,
    description:
      "harness: requests keep the server's own timings (llama.cpp timings)",
    statements: [
      // What the server said about the request (llama-server's `timings`, also sent by
      // tokentrace serve): prompt processing and generation, each a token count and ms.
      // Null when the server sent none.
      `alter table requests add column server_prompt_tokens integer`,
      `alter table requests add column server_prompt_ms double`,
      `alter table requests add column server_predicted_tokens integer`,
      `alter table requests add column server_predicted_ms double`,
    ],
  },
  {
    version: 8,
    description:
      "harness: request rows written when sent (status in_flight), completed when they end",
    statements: [
      // A request's row is inserted as it is sent and updated when it ends, so after a crash
      // every sent request is visible and no token row lacks its request row. DuckDB cannot
      // alter a CHECK constraint: the table is rebuilt with the same columns in the same order.
      `alter table requests rename to requests_v7`,
      `create table requests (
        run_id varchar not null,
        req_id varchar not null,
        trace_index bigint,
        session_id varchar,
        turn integer,
        scheduled_ns bigint,
        sent_ns bigint,
        first_byte_ns bigint,
        first_token_ns bigint,
        last_token_ns bigint,
        done_ns bigint,
        input_tokens_planned integer,
        output_tokens_planned integer,
        prompt_tokens_reported integer,
        completion_tokens_reported integer,
        cached_tokens integer,
        output_chunks integer,
        output_tokens_counted integer,
        status varchar not null
          check (status in ('in_flight','ok','error','timeout','cancelled')),
        http_status integer,
        error_kind varchar,
        error varchar,
        finish_reason varchar,
        released_ns bigint,
        attempt integer,
        server_prompt_tokens integer,
        server_prompt_ms double,
        server_predicted_tokens integer,
        server_predicted_ms double
      )`,
      `insert into requests select * from requests_v7`,
      `drop table requests_v7`,
    ],
  },
  {
    version: 9,
    description: "sharded runs: each shard's share and clock facts",
    statements: [
      // One row per shard (`run --shard i/N`): in a shard's own database, for its own run; in a
      // merged run (`tokentrace merge`), one per shard it joined (harness/shard_facts.ts).
      `create table run_shards (
        run_id varchar not null,
        shard_index integer not null,         -- i of --shard i/N (0-based)
        shard_count integer not null,         -- N
        shard_by varchar not null check (shard_by in ('request','session')),
        shard_run_id varchar not null,        -- the shard's own run id
        plan_sha256 varchar not null,         -- fingerprint of the whole plan (harness/shard.ts)
        plan_requests integer not null,       -- requests in the whole plan
        shard_requests integer not null,      -- requests in this shard's share
        start_at_unix_ns bigint not null,     -- the shared start (--start-at), Unix epoch ns
        start_ns bigint not null,             -- that start on the shard's run clock
        lead_ns bigint not null,              -- start_ns minus the run clock at the host reading
        host_clock_offset_ns bigint not null, -- run clock's wall anchor minus the host clock
        host_clock_uncertainty_ns bigint not null, -- half-width of the host clock reading
        host_clock_drift_ns bigint,           -- change of that offset from start to run end
        host_clock_id varchar,                -- kernel boot id: one clock per machine
        host_clock_synced boolean,            -- the kernel says the clock is synchronised
        host_clock_est_error_ns bigint,       -- the kernel's estimated clock error (adjtimex)
        source_db varchar,                    -- merged runs: the shard database it came from
        time_shift_ns bigint not null         -- added to the shard's times in this run
      )`,
    ],
  },
  {
    version: 10,
    description:
      "runs: the SLO and failure policy a run is judged by, and its load mode, as typed columns",
    statements: [
      // Until version 9 a plain run's SLO was only inside runs.options (`$.slo`, the CLI config)
      // and a suite scenario's failure policy in `$.suiteFailurePolicy`; sweeps had typed
      // columns. Each bound in ms, inclusive; NULL = no bound. slo_failure_policy is the SQL name
      // request_slo takes (named apart from the failure_policy column request_slo returns, which
      // views select beside runs columns); NULL = not recorded (the default policy applies).
      `alter table runs add column slo_ttft_ms double`,
      `alter table runs add column slo_tpot_ms double`,
      `alter table runs add column slo_e2e_ms double`,
      `alter table runs add column slo_itl_ms double`,
      `alter table runs add column slo_failure_policy varchar`,
      // How load was offered: 'open' (planned send times) or 'closed' (users back to back; no
      // planned rate, so the send-rate fidelity check does not apply). DuckDB adds no column
      // with a check constraint; Store.createRun writes only these. NULL = not recorded
      // (runs of schema 9 and before), read as open loop. Added before the back-fills below:
      // DuckDB alters no table a transaction has already updated.
      `alter table runs add column load_mode varchar`,
      // Back-fill older runs from what they recorded: the options JSON ...
      `update runs set
         slo_ttft_ms = try_cast(json_extract_string(options, '$.slo.ttftMs') as double),
         slo_tpot_ms = try_cast(json_extract_string(options, '$.slo.tpotMs') as double),
         slo_e2e_ms = try_cast(json_extract_string(options, '$.slo.e2eMs') as double),
         slo_itl_ms = try_cast(json_extract_string(options, '$.slo.itlMs') as double),
         slo_failure_policy = case json_extract_string(options, '$.suiteFailurePolicy')
           when 'count-errors' then 'errors_and_timeouts_count_as_missed;cancelled_excluded'
           when 'exclude-errors' then 'errors_and_timeouts_excluded;cancelled_excluded'
           when 'count-all' then 'all_failures_count_as_missed'
           else json_extract_string(options, '$.suiteFailurePolicy') end
       where options is not null`,
      // ... and a sweep point from its sweep, which is what judged it.
      `update runs set
         slo_ttft_ms = s.slo_ttft_ms, slo_tpot_ms = s.slo_tpot_ms,
         slo_e2e_ms = s.slo_e2e_ms, slo_itl_ms = s.slo_itl_ms,
         slo_failure_policy = s.failure_policy
       from sweeps as s
       where runs.sweep_id = s.sweep_id`,
    ],
  },
  {
    version: 11,
    description: "token_events.channel as an ENUM of the three channels",
    statements: [
      // The recorder writes ~1 M token rows a second; a VARCHAR channel cost DuckDB per-row
      // string statistics, hashing and compression analysis (docs/perf.md, "Continued
      // (tail13f)"). An inline ENUM (not a named type: the live snapshot copies the table into
      // another file, which a named type of this one would not exist in) compares, joins and
      // exports as the strings did: `channel = 'content'` works, parquet and CSV hold the names.
      // Inserting any other name is now an error, as the column's comment always said it was.
      `alter table token_events alter column channel
         set data type enum('content', 'reasoning', 'tool')`,
    ],
  },
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION: number = Math.max(
  ...MIGRATIONS.map((m) => m.version),
);

/** The tables tokentrace creates: those of {@linkcode MIGRATIONS} and its version table. */
export const OWNED_TABLES: ReadonlySet<string> = new Set([
  "tokentrace_schema",
  ...MIGRATIONS.flatMap((m) =>
    m.statements.flatMap((s) => {
      const t = /^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?(\w+)/i.exec(s);
      return t ? [t[1].toLowerCase()] : [];
    })
  ),
]);
