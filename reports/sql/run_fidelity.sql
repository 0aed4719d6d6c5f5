-- run_fidelity: is the run itself trustworthy? One row per check, flagged when its value
-- exceeds the threshold (docs/METRICS.md "Fidelity").
--
-- Grain: one row per (run_id, check_name) for every run and checks 1-10 below (11 only for
-- sharded runs); key
-- (run_id, check_name); sort by check_order.
--
-- Checks (value, unit, flagged when; thresholds in the `thresholds` CTE):
--   1 run_status                  0 when completed, else 1 (count)       value > 0
--   2 schedule_lag_p99_ms         p99 of sent - scheduled over every sent request (ms), by
--                                 quantile_cont                          value > 10 ms
--   3 send_rate_deviation         |run_offered_load.send_rate_ratio - 1| (fraction)   > 0.05;
--                                 NULL for closed-loop runs (runs.load_mode): no planned rate
--   4 input_length_mismatch_share share of status 'ok' requests with usage whose prompt_tokens
--                                 differ from the plan (fraction)        value > 0.01
--   5 output_length_mismatch_share share of status 'ok' requests whose output length differs from
--                                 the plan (fraction)                    value > 0.01
--   6 usage_vs_stream_mismatch_share share of status 'ok' requests with usage whose
--                                 completion_tokens differ from the tokens counted on the
--                                 stream (fraction)                      value > 0.01
--   7 failed_share                share of sent requests that ended in error or timeout
--                                 (fraction)                             value > 0.01
--   8 cached_prompt_share         reported cached prompt tokens / reported prompt tokens of
--                                 requests with usage (fraction)         never flagged: the
--                                 reuse implied by the trace's block hashes is not recorded
--   9 harness_floor_ttft_p50_ms   not measured per run (see docs/perf.md for the harness floor
--                                 against the scripted zero-work server): value NULL
--  10 coalesced_chunk_share       share of the chunk gaps of status 'ok' requests that are
--                                 exactly 0 ns: chunks read from the socket together get one
--                                 time, so their own arrival times (and the ITL between them)
--                                 are lost (fraction)                    value > 0.05
--  11 steps_in_flight             the engine's steps in flight (run_token_delivery; count)
--                                 never flagged: it states why ITL may be bursty (NULL when the
--                                 backend does not say)
--  12 itl_burst_share             share of chunk gaps under 1 ms (run_token_delivery.burst_share):
--                                 tokens delivered in bursts make ITL bimodal   value > 0.25
--  13 skipped_trace_rows          bad trace rows left out under --on-bad-row skip, from the
--                                 run's workload record (runs.workload source.skipped.count;
--                                 0 for a workload without a trace, NULL when no workload was
--                                 recorded) (count)                      value > 0: the run did
--                                 not replay the whole trace
--  14 shard_clock_disagreement_ms only for runs with rows in run_shards (sharded runs):
--                                 run_shard_clock.clock_disagreement_ms, how far apart the
--                                 shards' clocks may have been; n = shards (ms)  value > 10 ms,
--                                 the schedule lag a run is allowed
-- n is the number of samples the value came from.
--
-- Edge cases: a value without samples is NULL and then flagged is NULL (unknown), never FALSE.
create or replace view run_fidelity as
with
thresholds (check_order, check_name, unit, threshold) as (
  values
    (1, 'run_status', 'count', 0.0),
    (2, 'schedule_lag_p99_ms', 'ms', 10.0),
    (3, 'send_rate_deviation', 'fraction', 0.05),
    (4, 'input_length_mismatch_share', 'fraction', 0.01),
    (5, 'output_length_mismatch_share', 'fraction', 0.01),
    (6, 'usage_vs_stream_mismatch_share', 'fraction', 0.01),
    (7, 'failed_share', 'fraction', 0.01),
    (8, 'cached_prompt_share', 'fraction', null),
    (9, 'harness_floor_ttft_p50_ms', 'ms', null),
    (10, 'coalesced_chunk_share', 'fraction', 0.05),
    (11, 'steps_in_flight', 'count', null),
    (12, 'itl_burst_share', 'fraction', 0.25),
    (13, 'skipped_trace_rows', 'count', 0.0),
    (14, 'shard_clock_disagreement_ms', 'ms', 10.0)
),
lag_stats as (
  select run_id, count(schedule_lag_ms) as n, quantile_cont(schedule_lag_ms, 0.99) as p99
  from request_metrics
  where sent_ns is not null
  group by run_id
),
length_stats as (
  select
    run_id,
    count(*) filter (where status = 'ok' and input_drift_tokens is not null) as n_input,
    count(*) filter (where status = 'ok' and input_drift_tokens <> 0) as n_input_bad,
    count(*) filter (where status = 'ok' and output_drift_tokens is not null) as n_output,
    count(*) filter (where status = 'ok' and output_drift_tokens <> 0) as n_output_bad,
    count(*) filter (where status = 'ok' and output_usage_drift_tokens is not null) as n_usage,
    count(*) filter (where status = 'ok' and output_usage_drift_tokens <> 0) as n_usage_bad,
    sum(cached_tokens) filter (where input_tokens_reported is not null) as cached,
    sum(input_tokens_reported) filter (where input_tokens_reported is not null) as prompt,
    count(*) filter (where input_tokens_reported is not null) as n_prompt
  from request_length_drift
  group by run_id
),
failure_stats as (
  select
    run_id,
    count(*) filter (where sent_ns is not null) as n_sent,
    count(*) filter (where sent_ns is not null and status in ('error', 'timeout')) as n_failed
  from request_metrics
  group by run_id
),
gap_stats as (
  select
    k.run_id,
    count(*) as n_gaps,
    count(*) filter (where c.t_ns = c.prev_t_ns) as n_zero
  from token_chunks as c
  join request_keys as k on k.request_key = c.request_key
  where c.prev_t_ns is not null and k.status = 'ok'
  group by k.run_id
),
measured as (
  select r.run_id, 1 as check_order, (r.status <> 'completed')::int::double as value,
    1::bigint as n
  from runs as r
  union all
  select r.run_id, 2, l.p99, coalesce(l.n, 0)
  from runs as r left join lag_stats as l on l.run_id = r.run_id
  union all
  select o.run_id, 3,
    case when r.load_mode = 'closed' then null else abs(o.send_rate_ratio - 1) end,
    o.n_sent
  from run_offered_load as o join runs as r on r.run_id = o.run_id
  union all
  select r.run_id, 4, s.n_input_bad / nullif(s.n_input, 0), coalesce(s.n_input, 0)
  from runs as r left join length_stats as s on s.run_id = r.run_id
  union all
  select r.run_id, 5, s.n_output_bad / nullif(s.n_output, 0), coalesce(s.n_output, 0)
  from runs as r left join length_stats as s on s.run_id = r.run_id
  union all
  select r.run_id, 6, s.n_usage_bad / nullif(s.n_usage, 0), coalesce(s.n_usage, 0)
  from runs as r left join length_stats as s on s.run_id = r.run_id
  union all
  select r.run_id, 7, f.n_failed / nullif(f.n_sent, 0), coalesce(f.n_sent, 0)
  from runs as r left join failure_stats as f on f.run_id = r.run_id
  union all
  select r.run_id, 8, s.cached / nullif(s.prompt, 0), coalesce(s.n_prompt, 0)
  from runs as r left join length_stats as s on s.run_id = r.run_id
  union all
  select r.run_id, 9, null::double, 0::bigint
  from runs as r
  union all
  select r.run_id, 10, g.n_zero / nullif(g.n_gaps, 0), coalesce(g.n_gaps, 0)
  from runs as r left join gap_stats as g on g.run_id = r.run_id
  union all
  select run_id, 11, steps_in_flight::double, (steps_in_flight is not null)::int::bigint
  from run_token_delivery
  union all
  select run_id, 12, burst_share, n_gaps
  from run_token_delivery
  union all
  select r.run_id, 13,
    case when r.workload is not null
      -- a plain string match, not a JSON function: the dashboard's DuckDB-Wasm console has no
      -- JSON extension, and the recorder writes `"skipped":{"count":N,...}` in this order
      then coalesce(
        try_cast(regexp_extract(r.workload, '"skipped":\s*\{\s*"count":\s*(\d+)', 1) as double),
        0
      )
    end,
    (r.workload is not null)::int::bigint
  from runs as r
  union all
  select c.run_id, 14, c.clock_disagreement_ms, c.shards
  from run_shard_clock as c join runs as r on r.run_id = c.run_id
)
select
  m.run_id,
  t.check_order,
  t.check_name,
  m.value::double as value,
  t.unit,
  t.threshold::double as threshold,
  m.n,
  case when m.value is null or t.threshold is null then null else m.value > t.threshold end
    as flagged
from measured as m
join thresholds as t on t.check_order = m.check_order
