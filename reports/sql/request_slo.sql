-- request_slo(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL, failure_policy := ...):
-- whether each request meets a latency SLO (docs/METRICS.md "Goodput and SLO attainment").
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id).
-- Parameters: upper bounds in milliseconds, inclusive; NULL = no bound on that metric.
--
-- Per bound (each TRUE when its parameter is NULL):
--   ttft_ok = ttft_ms <= ttft_ms_max
--   tpot_ok = n_output_tokens < 2 OR tpot_ms <= tpot_ms_max     (n < 2 passes TPOT)
--   e2e_ok  = e2e_ms <= e2e_ms_max
--   itl_ok  = output_chunks < 2 OR max_itl_ms <= itl_ms_max     (a stall bound; no gap passes)
-- A missing value under a given bound fails it (e.g. no token at all with a TTFT bound).
--
-- Failure policy (explicit, echoed in failure_policy; validated by failure_policy_name):
--   'errors_and_timeouts_count_as_missed;cancelled_excluded' (default, as GuideLLM)
--       counted = status <> 'cancelled'
--   'errors_and_timeouts_excluded;cancelled_excluded' (only completed requests are judged)
--       counted = status = 'ok'
--   'all_failures_count_as_missed' (cancelled requests count as missed too)
--       counted = every request
-- and in every policy only requests inside the measurement window count (request_window).
--   meets_slo = NULL when not counted (neither met nor missed); else status = 'ok' AND every
--               bound holds (FALSE for a counted error, timeout or cancellation)
--
-- Columns: run_id, req_id, status, in_window, n_output_tokens, ttft_ms, tpot_ms, e2e_ms,
-- max_itl_ms, ttft_ok, tpot_ok, e2e_ok, itl_ok, counted, meets_slo, failure_policy.
create or replace macro request_slo(
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
bounds as (
  select
    ttft_ms_max::double as ttft_bound_ms,
    tpot_ms_max::double as tpot_bound_ms,
    e2e_ms_max::double as e2e_bound_ms,
    itl_ms_max::double as itl_bound_ms,
    failure_policy_name(failure_policy) as policy
),
checks as (
  select
    m.run_id,
    m.req_id,
    m.status,
    w.in_window,
    m.n_output_tokens,
    m.output_chunks,
    m.ttft_ms,
    m.tpot_ms,
    m.e2e_ms,
    m.max_itl_ms,
    b.policy,
    b.ttft_bound_ms is null or coalesce(m.ttft_ms <= b.ttft_bound_ms, false) as ttft_ok,
    b.tpot_bound_ms is null
      or m.n_output_tokens < 2
      or coalesce(m.tpot_ms <= b.tpot_bound_ms, false) as tpot_ok,
    b.e2e_bound_ms is null or coalesce(m.e2e_ms <= b.e2e_bound_ms, false) as e2e_ok,
    b.itl_bound_ms is null
      or m.output_chunks < 2
      or coalesce(m.max_itl_ms <= b.itl_bound_ms, false) as itl_ok
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  cross join bounds as b
),
policy_applied as (
  select
    *,
    in_window and case policy
      when 'errors_and_timeouts_count_as_missed;cancelled_excluded' then status <> 'cancelled'
      when 'errors_and_timeouts_excluded;cancelled_excluded' then status = 'ok'
      else true
    end as counted
  from checks
)
select
  run_id,
  req_id,
  status,
  in_window,
  n_output_tokens,
  ttft_ms,
  tpot_ms,
  e2e_ms,
  max_itl_ms,
  ttft_ok,
  tpot_ok,
  e2e_ok,
  itl_ok,
  counted,
  case
    when not counted then null
    when status = 'ok' then ttft_ok and tpot_ok and e2e_ok and itl_ok
    else false
  end as meets_slo,
  policy as failure_policy
from policy_applied
