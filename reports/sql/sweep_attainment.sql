-- sweep_attainment(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL, failure_policy :=
-- ...): the attainment-vs-rate curve of every sweep (docs/METRICS.md "Goodput (capacity form)").
--
-- Grain: one row per run that belongs to a sweep (runs.sweep_id NOT NULL); key run_id.
-- Parameters: the SLO and failure policy, as slo_attainment (a sweep records its own in the
-- `sweeps` table; pass those to reproduce its curve).
--
-- Columns: sweep_id, run_id, label, status, sweep_axis, sweep_value (the requested speedup, rate
-- or concurrency cap), offered_rps (run_offered_load: the arrival rate of the replayed schedule),
-- load_rps (the x of the curve: offered_rps for speedup and rate sweeps; for a concurrency sweep,
-- whose schedule is the same at every point, the achieved request_throughput_rps), point_order
-- (1 = lowest load; ties by sweep_value, then run_id), n_counted, n_met, attainment (0..1),
-- goodput_rps, request_throughput_rps, failure_policy, and each point's latency percentiles
-- (run_latency_summary: completed requests in the window, quantile_cont): ttft_p50_ms,
-- ttft_p99_ms, tpot_p50_ms, tpot_p99_ms, e2e_p50_ms, e2e_p99_ms (NULL without samples).
--
-- Edge cases: a point without counted requests has attainment NULL; without a window its rates
-- are NULL; a point with load_rps NULL (fewer than 2 requests, or no window) sorts last.
create or replace macro sweep_attainment(
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
points as (
  select run_id, label, status, sweep_id, sweep_axis, sweep_value
  from runs
  where sweep_id is not null
),
latency as (
  select
    run_id,
    any_value(p50_ms) filter (where metric = 'ttft_ms') as ttft_p50_ms,
    any_value(p99_ms) filter (where metric = 'ttft_ms') as ttft_p99_ms,
    any_value(p50_ms) filter (where metric = 'tpot_ms') as tpot_p50_ms,
    any_value(p99_ms) filter (where metric = 'tpot_ms') as tpot_p99_ms,
    any_value(p50_ms) filter (where metric = 'e2e_ms') as e2e_p50_ms,
    any_value(p99_ms) filter (where metric = 'e2e_ms') as e2e_p99_ms
  from run_latency_summary
  group by run_id
),
judged as (
  select *
  from slo_attainment(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  )
)
select
  p.sweep_id,
  p.run_id,
  p.label,
  p.status,
  p.sweep_axis,
  p.sweep_value,
  o.offered_rps,
  case when p.sweep_axis = 'concurrency' then t.request_throughput_rps else o.offered_rps end
    as load_rps,
  row_number() over (
    partition by p.sweep_id
    order by
      case when p.sweep_axis = 'concurrency' then t.request_throughput_rps else o.offered_rps end
        asc nulls last,
      p.sweep_value,
      p.run_id
  ) as point_order,
  j.n_counted,
  j.n_met,
  j.attainment,
  j.goodput_rps,
  t.request_throughput_rps,
  j.failure_policy,
  l.ttft_p50_ms,
  l.ttft_p99_ms,
  l.tpot_p50_ms,
  l.tpot_p99_ms,
  l.e2e_p50_ms,
  l.e2e_p99_ms
from points as p
join run_offered_load as o on o.run_id = p.run_id
join judged as j on j.run_id = p.run_id
join run_throughput as t on t.run_id = p.run_id
join latency as l on l.run_id = p.run_id
