-- run_latency_summary: latency distribution of each run's completed requests (docs/METRICS.md).
--
-- Grain: one row per (run_id, metric) for every run and each of the metrics below, even when
-- the run has no sample (then n = 0 and every statistic is NULL, never 0); key (run_id, metric).
--
-- Population: requests with status = 'ok' ("completed") inside the measurement window
-- (request_window.in_window); a NULL value is not a sample.
--   metric                           sample                                     metric_order
--   ttft_ms                          request_metrics.ttft_ms, per request        1
--   ttft_incl_queue_ms               request_metrics.ttft_incl_queue_ms          2
--   tpot_ms                          request_metrics.tpot_ms (n >= 2 only)       3
--   itl_ms                           itl_gaps.itl_ms, every gap pooled           4
--                                    (read from token_chunks, the same values)
--   itl_per_token_ms                 itl_gaps.itl_per_token_ms, pooled           5
--   e2e_ms                           request_metrics.e2e_ms                      6
--   normalized_latency_ms_per_token  request_metrics.normalized_latency_...      7
--   schedule_lag_ms                  request_metrics.schedule_lag_ms             8
--
-- Statistics: n = COUNT of samples; mean_ms = AVG; p50_ms .. p999_ms = quantile_cont (linear
-- interpolation between order statistics, as numpy's default) at 0.5, 0.9, 0.95, 0.99, 0.999;
-- max_ms = MAX. percentile_method names the method. All values in milliseconds.
-- Sort rows by (run_id, metric_order) for the canonical order.
create or replace view run_latency_summary as
with
metric_names (metric_order, metric) as (
  values
    (1, 'ttft_ms'),
    (2, 'ttft_incl_queue_ms'),
    (3, 'tpot_ms'),
    (4, 'itl_ms'),
    (5, 'itl_per_token_ms'),
    (6, 'e2e_ms'),
    (7, 'normalized_latency_ms_per_token'),
    (8, 'schedule_lag_ms')
),
completed_requests as (
  select m.*
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  where m.status = 'ok' and w.in_window
),
completed_gaps as (
  -- token_chunks joined on the integer key: no string is touched per chunk
  select w.run_id, (c.t_ns - c.prev_t_ns) / 1e6 as itl_ms, c.n_tokens
  from token_chunks as c
  join request_window as w on w.request_key = c.request_key
  where c.prev_t_ns is not null and w.status = 'ok' and w.in_window
),
request_samples as (
  select run_id, 'ttft_ms' as metric, ttft_ms as value_ms from completed_requests
  union all
  select run_id, 'ttft_incl_queue_ms', ttft_incl_queue_ms from completed_requests
  union all
  select run_id, 'tpot_ms', tpot_ms from completed_requests
  union all
  select run_id, 'e2e_ms', e2e_ms from completed_requests
  union all
  select run_id, 'normalized_latency_ms_per_token', normalized_latency_ms_per_token
  from completed_requests
  union all
  select run_id, 'schedule_lag_ms', schedule_lag_ms from completed_requests
),
-- One quantile_cont call with a list of levels sorts each group once. Per-request samples are
-- grouped by metric; the pooled gaps (the large sample) are aggregated on their own, without a
-- metric column to group by.
request_stats as (
  select
    run_id, metric, count(value_ms) as n, avg(value_ms) as mean_ms,
    quantile_cont(value_ms, [0.5, 0.9, 0.95, 0.99, 0.999]) as q, max(value_ms) as max_ms
  from request_samples
  where value_ms is not null
  group by run_id, metric
),
gap_stats as (
  select
    run_id, 'itl_ms' as metric, count(itl_ms) as n, avg(itl_ms) as mean_ms,
    quantile_cont(itl_ms, [0.5, 0.9, 0.95, 0.99, 0.999]) as q, max(itl_ms) as max_ms,
    max(n_tokens) as max_chunk_tokens
  from completed_gaps
  group by run_id
),
per_token_stats as (
  -- itl_per_token_ms = itl_ms / n_tokens of the later chunk; a run whose chunks all carry one
  -- token has the identical sample, so its statistics are copied instead of sorted again
  select
    g.run_id, 'itl_per_token_ms' as metric, count(*) as n,
    avg(g.itl_ms / g.n_tokens) as mean_ms,
    quantile_cont(g.itl_ms / g.n_tokens, [0.5, 0.9, 0.95, 0.99, 0.999]) as q,
    max(g.itl_ms / g.n_tokens) as max_ms
  from completed_gaps as g
  join gap_stats as s on s.run_id = g.run_id
  where s.max_chunk_tokens > 1
  group by g.run_id
  union all
  select run_id, 'itl_per_token_ms', n, mean_ms, q, max_ms
  from gap_stats
  where max_chunk_tokens = 1
),
aggregated as (
  select run_id, metric, n, mean_ms, q, max_ms from request_stats
  union all
  select run_id, metric, n, mean_ms, q, max_ms from gap_stats
  union all
  select run_id, metric, n, mean_ms, q, max_ms from per_token_stats
),
stats as (
  select
    run_id, metric, n, mean_ms,
    q[1] as p50_ms, q[2] as p90_ms, q[3] as p95_ms, q[4] as p99_ms, q[5] as p999_ms,
    max_ms
  from aggregated
),
grid as (
  select r.run_id, m.metric_order, m.metric
  from runs as r
  cross join metric_names as m
)
select
  g.run_id,
  g.metric,
  g.metric_order,
  coalesce(s.n, 0) as n,
  s.mean_ms,
  s.p50_ms,
  s.p90_ms,
  s.p95_ms,
  s.p99_ms,
  s.p999_ms,
  s.max_ms,
  'quantile_cont' as percentile_method
from grid as g
left join stats as s on s.run_id = g.run_id and s.metric = g.metric
