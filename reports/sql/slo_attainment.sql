-- slo_attainment(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL, failure_policy := ...):
-- SLO attainment and goodput (rate form) of each run (docs/METRICS.md "Goodput and SLO attainment").
--
-- Grain: one row per `runs` row; key run_id.
-- Parameters: as request_slo (inclusive upper bounds in ms; NULL = no bound; the failure policy,
-- default 'errors_and_timeouts_count_as_missed;cancelled_excluded'). The bounds are echoed as
-- ttft_ms_max .. itl_ms_max and the policy as failure_policy, so a row says what it measured.
--
-- Definitions (request_slo decides each request; only requests in the measurement window count):
--   n_counted                  = requests with counted
--   n_met                      = requests with meets_slo
--   n_excluded_cancelled       = in-window cancelled requests the policy excludes
--   n_excluded_failed          = in-window errors and timeouts the policy excludes
--   n_outside_window           = requests outside the measurement window (warm-up, cool-down)
--   attainment                 = n_met / n_counted                  (fraction 0..1)
--   goodput_rps                = n_met / run_window.window_s
--   token_goodput_tokens_per_s = SUM(n_output_tokens of met requests) / run_window.window_s
--
-- Edge cases: n_counted = 0 gives attainment NULL; window_ns NULL or 0 gives goodput NULL (never
-- 0). Counts of nothing are 0. goodput_rps <= run_throughput.request_throughput_rps always (met
-- requests are completed in-window requests, over the same window).
create or replace macro slo_attainment(
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
decided as (
  select *
  from request_slo(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  )
),
per_run as (
  select
    run_id,
    count(*) filter (where counted) as n_counted,
    count(*) filter (where meets_slo) as n_met,
    count(*) filter (where in_window and not counted and status = 'cancelled')
      as n_excluded_cancelled,
    count(*) filter (where in_window and not counted and status in ('error', 'timeout'))
      as n_excluded_failed,
    count(*) filter (where not in_window) as n_outside_window,
    sum(n_output_tokens) filter (where meets_slo) as met_output_tokens
  from decided
  group by run_id
),
joined as (
  select
    r.run_id,
    coalesce(p.n_counted, 0) as n_counted,
    coalesce(p.n_met, 0) as n_met,
    coalesce(p.n_excluded_cancelled, 0) as n_excluded_cancelled,
    coalesce(p.n_excluded_failed, 0) as n_excluded_failed,
    coalesce(p.n_outside_window, 0) as n_outside_window,
    coalesce(p.met_output_tokens, 0)::bigint as met_output_tokens,
    w.window_s,
    nullif(w.window_ns, 0) as rate_denominator_ns
  from runs as r
  left join run_window as w on w.run_id = r.run_id
  left join per_run as p on p.run_id = r.run_id
)
select
  run_id,
  ttft_ms_max::double as ttft_ms_max,
  tpot_ms_max::double as tpot_ms_max,
  e2e_ms_max::double as e2e_ms_max,
  itl_ms_max::double as itl_ms_max,
  n_counted,
  n_met,
  n_excluded_cancelled,
  n_excluded_failed,
  n_outside_window,
  n_met / nullif(n_counted, 0) as attainment,
  window_s,
  met_output_tokens,
  n_met * 1e9 / rate_denominator_ns as goodput_rps,
  met_output_tokens * 1e9 / rate_denominator_ns as token_goodput_tokens_per_s,
  failure_policy_name(failure_policy) as failure_policy
from joined
