-- slo_attainment(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL): SLO attainment and
-- goodput (rate form) of each run (METRICS.md "Goodput and SLO attainment").
--
-- Grain: one row per `runs` row; key run_id.
-- Parameters: as request_slo (inclusive upper bounds in ms; NULL = no bound). The bounds are
-- echoed as ttft_ms_max .. itl_ms_max so a result row says what it was measured against.
--
-- Definitions (request_slo decides each request; failure policy in failure_policy: errored and
-- timed-out requests count as missed, cancelled requests are excluded):
--   n_counted                  = requests with counted (status <> 'cancelled')
--   n_met                      = requests with meets_slo
--   n_excluded_cancelled       = cancelled requests
--   attainment                 = n_met / n_counted                  (fraction 0..1)
--   goodput_rps                = n_met / run_window.window_s
--   token_goodput_tokens_per_s = SUM(n_output_tokens of met requests) / run_window.window_s
--
-- Edge cases: n_counted = 0 gives attainment NULL; window_ns NULL or 0 gives goodput NULL (never
-- 0). Counts of nothing are 0. goodput_rps <= run_throughput.request_throughput_rps always (met
-- requests are completed requests, over the same window).
create or replace macro slo_attainment(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := null)
as table
with
decided as (
  select *
  from request_slo(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := itl_ms_max)
),
per_run as (
  select
    run_id,
    count(*) filter (where counted) as n_counted,
    count(*) filter (where meets_slo) as n_met,
    count(*) filter (where status = 'cancelled') as n_excluded_cancelled,
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
  n_met / nullif(n_counted, 0) as attainment,
  window_s,
  met_output_tokens,
  n_met * 1e9 / rate_denominator_ns as goodput_rps,
  met_output_tokens * 1e9 / rate_denominator_ns as token_goodput_tokens_per_s,
  'errors_and_timeouts_count_as_missed;cancelled_excluded' as failure_policy
from joined
