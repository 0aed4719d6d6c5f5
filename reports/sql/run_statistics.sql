-- run_statistics(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL, failure_policy :=
-- ...): the statistics regression gates judge, one value per run (the inputs of
-- between_run_compare: a group's runs are compared through these per-run values).
--
-- Grain: one row per (run_id, metric, statistic) for every run and the 9 statistics below,
-- even when the run has no sample (value NULL, never 0); key (run_id, metric, statistic); sort
-- by (run_id, row_order).
--   row_order  metric       statistic  value
--   1 / 2      ttft_ms      p50 / p99  run_latency_summary.p50_ms / p99_ms (quantile_cont)
--   3 / 4      tpot_ms      p50 / p99  same
--   5 / 6      itl_ms       p50 / p99  same (every chunk gap pooled)
--   7 / 8      e2e_ms       p50 / p99  same
--   9          goodput_rps  value      slo_attainment.goodput_rps (met / window_s) under the
--                                      given SLO and failure policy
-- n is the number of samples behind the value: run_latency_summary.n for latencies,
-- slo_attainment.n_counted for goodput.
--
-- Edge cases: a latency without samples gives value NULL and n 0; a run without a window gives
-- goodput NULL; a goodput of 0 (no request met the SLO) is a real 0.
create or replace macro run_statistics(
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
wanted (row_order, metric, statistic) as (
  values
    (1, 'ttft_ms', 'p50'), (2, 'ttft_ms', 'p99'),
    (3, 'tpot_ms', 'p50'), (4, 'tpot_ms', 'p99'),
    (5, 'itl_ms', 'p50'), (6, 'itl_ms', 'p99'),
    (7, 'e2e_ms', 'p50'), (8, 'e2e_ms', 'p99'),
    (9, 'goodput_rps', 'value')
),
latency as (
  select run_id, metric, 'p50' as statistic, p50_ms as value, n
  from run_latency_summary
  union all
  select run_id, metric, 'p99', p99_ms, n
  from run_latency_summary
),
goodput as (
  select run_id, 'goodput_rps' as metric, 'value' as statistic, goodput_rps as value,
    n_counted as n
  from slo_attainment(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  )
),
measured as (
  select * from latency
  union all
  select * from goodput
),
grid as (
  select r.run_id, w.row_order, w.metric, w.statistic
  from runs as r
  cross join wanted as w
)
select
  g.run_id,
  g.row_order,
  g.metric,
  g.statistic,
  m.value::double as value,
  coalesce(m.n, 0)::bigint as n
from grid as g
left join measured as m
  on m.run_id = g.run_id and m.metric = g.metric and m.statistic = g.statistic
