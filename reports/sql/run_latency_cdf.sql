-- run_latency_cdf: the empirical distribution of the main latency metrics at 101 levels, for CDF
-- charts (docs/METRICS.md metrics; the population of run_latency_summary).
--
-- Grain: one row per (run_id, metric, level_index) for every run, metric in (ttft_ms, tpot_ms,
-- itl_ms, e2e_ms) and level_index 0..100; key (run_id, metric, level_index).
--
-- Definition: cumulative_fraction = level_index / 100; value_ms = the value quantile_cont(sample,
-- cumulative_fraction) returns (linear interpolation between order statistics; level 0 is the
-- minimum, level 100 the maximum), computed from one sorted list per group because quantile_cont
-- with 101 levels costs about one pass per level (tested equal to quantile_cont). n is the sample count of the
-- group (after thinning); samples as in run_latency_summary (status 'ok', in the measurement
-- window, pooled gaps for itl_ms). itl_ms over more than 100,000 gaps is taken over about 100,000
-- of them chosen by a fixed hash of (req_id, seq): a quantile_cont with 101 levels over 10 million
-- gaps took 6.7 s on 2 cores, and a chart cannot show the difference (the exact p50 .. p99.9
-- are in run_latency_summary).
--
-- Edge cases: a metric without samples still has its 101 rows, with n = 0 and value_ms NULL.
create or replace view run_latency_cdf as
with
levels as (
  select level_index, (level_index / 100)::double as cumulative_fraction
  from range(0, 101) as t(level_index)
),
metric_names (metric_order, metric) as (
  values (1, 'ttft_ms'), (2, 'tpot_ms'), (3, 'itl_ms'), (4, 'e2e_ms')
),
completed_requests as (
  select m.run_id, m.ttft_ms, m.tpot_ms, m.e2e_ms
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  where m.status = 'ok' and w.in_window
),
request_samples as (
  select run_id, 'ttft_ms' as metric, ttft_ms as value_ms from completed_requests
  union all
  select run_id, 'tpot_ms', tpot_ms from completed_requests
  union all
  select run_id, 'e2e_ms', e2e_ms from completed_requests
),
gap_counts as (
  -- run_latency_summary's n for itl_ms is the size of the same population
  select w.request_key, w.run_id, s.n
  from request_window as w
  join run_latency_summary as s on s.run_id = w.run_id and s.metric = 'itl_ms'
  where w.status = 'ok' and w.in_window
),
gap_samples as (
  -- at most about 100,000 gaps per run, chosen by a fixed hash (all when fewer); gaps are
  -- itl_gaps' itl_ms, read from token_chunks on the integer key
  select g.run_id, (c.t_ns - c.prev_t_ns) / 1e6 as itl_ms
  from token_chunks as c
  join gap_counts as g on g.request_key = c.request_key
  where c.prev_t_ns is not null
    and (g.n <= 100000 or hash(c.request_key, c.seq) % g.n::ubigint < 100000)
),
samples as (
  select run_id, metric, value_ms from request_samples
  union all
  select run_id, 'itl_ms', itl_ms from gap_samples
),
sorted as (
  select run_id, metric, count(*) as n, list_sort(list(value_ms)) as sorted_values
  from samples
  where value_ms is not null
  group by run_id, metric
),
grid as (
  select r.run_id, m.metric_order, m.metric, l.level_index, l.cumulative_fraction
  from runs as r
  cross join metric_names as m
  cross join levels as l
)
select
  g.run_id,
  g.metric,
  g.metric_order,
  g.level_index,
  g.cumulative_fraction,
  coalesce(s.n, 0) as n,
  -- quantile_cont's interpolation: position h = fraction * (n - 1) in the sorted sample,
  -- value = x[floor(h)] + (x[ceil(h)] - x[floor(h)]) * (h - floor(h)) (1-based lists: + 1)
  s.sorted_values[floor(g.cumulative_fraction * (s.n - 1))::bigint + 1]
    + (
      s.sorted_values[ceil(g.cumulative_fraction * (s.n - 1))::bigint + 1]
      - s.sorted_values[floor(g.cumulative_fraction * (s.n - 1))::bigint + 1]
    ) * (g.cumulative_fraction * (s.n - 1) - floor(g.cumulative_fraction * (s.n - 1)))
    as value_ms
from grid as g
left join sorted as s on s.run_id = g.run_id and s.metric = g.metric
