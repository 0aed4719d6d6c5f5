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
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;
