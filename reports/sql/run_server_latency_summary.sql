-- run_server_latency_summary: the server's own TTFT and TPOT and the client's minus them, in the
-- row shape of run_anchor_latency_summary (tool 'server'), so reports list them with the other
-- tools' definitions.
--
-- Grain: one row per (run_id, metric) for runs with at least one status 'ok' request inside the
-- measurement window that carries server timings; key (run_id, metric). Runs without server
-- timings have no rows.
--
-- Population: request_server_timings rows with status 'ok' and request_window.in_window.
--   metric                          source (request_server_timings)
--   server_ttft_ms                  server_ttft_ms
--   server_tpot_ms                  server_tpot_ms
--   ttft_minus_server_ms            ttft_minus_server_ms
--   tpot_minus_server_ms            tpot_minus_server_ms
--
-- Statistics: n = COUNT of samples, mean_ms, p50_ms .. p999_ms by quantile_cont (linear
-- interpolation), max_ms; a metric without samples has n = 0 and NULL statistics. Sort by
-- (run_id, metric_order); metric_order continues run_anchor_latency_summary's (from 101).
create or replace view run_server_latency_summary as
with
metric_names (metric_order, metric) as (
  values
    (101, 'server_ttft_ms'),
    (102, 'server_tpot_ms'),
    (103, 'ttft_minus_server_ms'),
    (104, 'tpot_minus_server_ms')
),
population as (
  select t.*
  from request_server_timings as t
  join request_metrics as m on m.run_id = t.run_id and m.req_id = t.req_id
  join request_window as w on w.request_key = m.request_key
  where t.status = 'ok' and w.in_window
),
samples as (
  unpivot (
    select run_id, server_ttft_ms, server_tpot_ms, ttft_minus_server_ms, tpot_minus_server_ms
    from population
  )
  on columns(* exclude (run_id))
  into name metric value value_ms
),
aggregates as (
  select
    run_id, metric, count(value_ms) as n, avg(value_ms) as mean_ms,
    quantile_cont(value_ms, [0.5, 0.9, 0.95, 0.99, 0.999]) as q, max(value_ms) as max_ms
  from samples
  where value_ms is not null
  group by run_id, metric
),
grid as (
  select r.run_id, m.metric_order, m.metric
  from (select distinct run_id from population) as r
  cross join metric_names as m
)
select
  g.run_id,
  'server' as tool,
  g.metric,
  g.metric_order,
  null::varchar as same_as,
  coalesce(a.n, 0) as n,
  a.mean_ms,
  a.q[1] as p50_ms,
  a.q[2] as p90_ms,
  a.q[3] as p95_ms,
  a.q[4] as p99_ms,
  a.q[5] as p999_ms,
  a.max_ms,
  'quantile_cont' as percentile_method
from grid as g
left join aggregates as a on a.run_id = g.run_id and a.metric = g.metric
