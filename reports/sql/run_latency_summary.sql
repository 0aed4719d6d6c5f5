-- run_latency_summary: latency distribution of each run's completed requests (METRICS.md).
--
-- Grain: one row per (run_id, metric) for every run and each of the metrics below, even when
-- the run has no sample (then n = 0 and every statistic is NULL, never 0); key (run_id, metric).
--
-- Population: requests with status = 'ok' ("completed"); a NULL value is not a sample.
--   metric              sample                                  metric_order
--   ttft_ms             request_metrics.ttft_ms, per request    1
--   ttft_incl_queue_ms  request_metrics.ttft_incl_queue_ms      2
--   tpot_ms             request_metrics.tpot_ms (n >= 2 only)   3
--   itl_ms              itl_gaps.itl_ms, every gap pooled       4
--   e2e_ms              request_metrics.e2e_ms                  5
--   schedule_lag_ms     request_metrics.schedule_lag_ms         6
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
    (5, 'e2e_ms'),
    (6, 'schedule_lag_ms')
),
completed_requests as (
  select * from request_metrics where status = 'ok'
),
samples as (
  select run_id, 'ttft_ms' as metric, ttft_ms as value_ms from completed_requests
  union all
  select run_id, 'ttft_incl_queue_ms', ttft_incl_queue_ms from completed_requests
  union all
  select run_id, 'tpot_ms', tpot_ms from completed_requests
  union all
  select run_id, 'itl_ms', itl_ms from itl_gaps where status = 'ok'
  union all
  select run_id, 'e2e_ms', e2e_ms from completed_requests
  union all
  select run_id, 'schedule_lag_ms', schedule_lag_ms from completed_requests
),
stats as (
  select
    run_id,
    metric,
    count(value_ms) as n,
    avg(value_ms) as mean_ms,
    quantile_cont(value_ms, 0.5) as p50_ms,
    quantile_cont(value_ms, 0.9) as p90_ms,
    quantile_cont(value_ms, 0.95) as p95_ms,
    quantile_cont(value_ms, 0.99) as p99_ms,
    quantile_cont(value_ms, 0.999) as p999_ms,
    max(value_ms) as max_ms
  from samples
  where value_ms is not null
  group by run_id, metric
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
