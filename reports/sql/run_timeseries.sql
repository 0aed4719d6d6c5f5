-- run_timeseries: each run as a per-second time series (arrivals, completions, tokens, in-flight
-- requests and latency percentiles), for timelines and "latency over time" charts (docs/METRICS.md).
--
-- Grain: one row per (run_id, bin_index) for every 1 s bin from the run's first send to its last
-- completion, empty bins included; key (run_id, bin_index). Runs without a window have no row.
--
-- Bins: bin k covers [first_sent_ns + k s, first_sent_ns + (k + 1) s) on the run clock
-- (first_sent_ns and last_completion_ns from run_window, before trims); bin_start_s = k.
--   n_sent                 requests sent in the bin (any status)
--   n_completed            status 'ok' requests whose completion (done, else last token) is in it
--   n_failed               error / timeout requests whose reference time (request_window) is in it
--   output_tokens_per_s    n_tokens of token-bearing events in the bin, any status (bin = 1 s)
--   in_flight_at_bin_end   requests sent before the bin's end whose reference time is not before
--                          it (reference = completion, else send time; an error's time is not
--                          recorded)
--   n_latency              status 'ok' requests SENT in the bin: the samples of
--   ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms   (quantile_cont; TPOT over n >= 2 only)
--   schedule_lag_max_ms    the largest sent - scheduled of requests sent in the bin
--   in_window              the bin lies within the measurement window (trims applied)
--
-- Edge cases: counts of nothing are 0; percentiles and maxima of an empty bin are NULL (not 0).
-- The last bin is usually shorter than 1 s and output_tokens_per_s is not scaled up for it.
create or replace view run_timeseries as
with
bounds as (
  select
    run_id, first_sent_ns, last_completion_ns, window_start_ns, window_end_ns,
    (last_completion_ns - first_sent_ns) // 1000000000 as last_bin
  from run_window
  where first_sent_ns is not null and last_completion_ns >= first_sent_ns
),
bins as (
  select b.run_id, t.bin_index, b.first_sent_ns + t.bin_index * 1000000000 as bin_start_ns,
    b.window_start_ns, b.window_end_ns
  from bounds as b
  cross join lateral (select unnest(range(0, b.last_bin + 1)) as bin_index) as t
),
placed as (
  select
    m.run_id,
    m.status,
    m.sent_ns,
    m.completion_ns,
    w.reference_ns,
    m.ttft_ms,
    m.tpot_ms,
    m.schedule_lag_ms,
    (m.sent_ns - b.first_sent_ns) // 1000000000 as sent_bin,
    (m.completion_ns - b.first_sent_ns) // 1000000000 as completion_bin,
    (w.reference_ns - b.first_sent_ns) // 1000000000 as reference_bin
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  join bounds as b on b.run_id = m.run_id
),
sent_stats as (
  select
    run_id,
    sent_bin as bin_index,
    count(*) as n_sent,
    count(*) filter (where status = 'ok') as n_latency,
    quantile_cont(ttft_ms, [0.5, 0.99]) filter (where status = 'ok') as ttft_q,
    quantile_cont(tpot_ms, [0.5, 0.99]) filter (where status = 'ok') as tpot_q,
    max(schedule_lag_ms) as schedule_lag_max_ms
  from placed
  where sent_bin is not null
  group by run_id, sent_bin
),
completed as (
  select run_id, completion_bin as bin_index, count(*) as n_completed
  from placed
  where status = 'ok' and completion_bin is not null
  group by run_id, completion_bin
),
failed as (
  select run_id, reference_bin as bin_index, count(*) as n_failed
  from placed
  where status in ('error', 'timeout') and reference_bin is not null
  group by run_id, reference_bin
),
ended as (
  -- requests leave flight at their reference time; the cumulative sums below count them
  select run_id, reference_bin as bin_index, count(*) as n_ended
  from placed
  where sent_bin is not null and reference_bin is not null
  group by run_id, reference_bin
),
tokens as (
  -- token_chunks (the token-bearing events on their integer key) with each request's run
  select k.run_id, (c.t_ns - b.first_sent_ns) // 1000000000 as bin_index, sum(c.n_tokens) as n
  from token_chunks as c
  join request_keys as k on k.request_key = c.request_key
  join bounds as b on b.run_id = k.run_id
  group by all
),
joined as (
  select
    b.run_id,
    b.bin_index,
    b.bin_start_ns,
    b.bin_start_ns >= b.window_start_ns and b.bin_start_ns + 1000000000 <= b.window_end_ns
      as in_window,
    coalesce(s.n_sent, 0) as n_sent,
    coalesce(c.n_completed, 0) as n_completed,
    coalesce(f.n_failed, 0) as n_failed,
    coalesce(t.n, 0)::bigint as output_tokens_per_s,
    coalesce(s.n_sent, 0) as sent_in_bin,
    coalesce(e.n_ended, 0) as ended_in_bin,
    coalesce(s.n_latency, 0) as n_latency,
    s.ttft_q,
    s.tpot_q,
    s.schedule_lag_max_ms
  from bins as b
  left join sent_stats as s on s.run_id = b.run_id and s.bin_index = b.bin_index
  left join completed as c on c.run_id = b.run_id and c.bin_index = b.bin_index
  left join failed as f on f.run_id = b.run_id and f.bin_index = b.bin_index
  left join ended as e on e.run_id = b.run_id and e.bin_index = b.bin_index
  left join tokens as t on t.run_id = b.run_id and t.bin_index = b.bin_index
)
select
  run_id,
  bin_index,
  bin_start_ns,
  bin_index::double as bin_start_s,
  in_window,
  n_sent,
  n_completed,
  n_failed,
  output_tokens_per_s,
  (
    sum(sent_in_bin) over (partition by run_id order by bin_index)
    - sum(ended_in_bin) over (partition by run_id order by bin_index)
  )::bigint as in_flight_at_bin_end,
  n_latency,
  ttft_q[1] as ttft_p50_ms,
  ttft_q[2] as ttft_p99_ms,
  tpot_q[1] as tpot_p50_ms,
  tpot_q[2] as tpot_p99_ms,
  schedule_lag_max_ms
from joined
