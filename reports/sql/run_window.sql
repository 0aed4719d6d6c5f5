-- run_window: the measurement window of each run, the denominator of every rate (docs/METRICS.md).
--
-- Grain: one row per `runs` row; key run_id.
--
-- Definition (policy 'first_sent_to_last_completion', trimmed by the run's configured warm-up and
-- cool-down, recorded at run start in runs.warmup_ns / runs.cooldown_ns and the options JSON):
--   window_start_ns = MIN(request_metrics.sent_ns) + warmup_ns
--   window_end_ns   = MAX(request_metrics.completion_ns) - cooldown_ns
--                     (completion_ns = COALESCE(done_ns, last token time))
--   window_ns       = window_end_ns - window_start_ns,   window_s = window_ns / 1e9
-- warmup_ns / cooldown_ns NULL (a run recorded without trims) read as 0. Which requests count in
-- the window is decided by request_window.
--
-- Columns: run_id, first_sent_ns, last_completion_ns, warmup_ns, cooldown_ns, window_start_ns,
-- window_end_ns, window_ns, window_s, window_policy.
--
-- Edge cases:
--   * a run with no sent request or no request that completed or streamed a token: the missing
--     bound and window_ns / window_s are NULL (rates over it are NULL, never 0);
--   * an end before the start (trims longer than the run): window_ns / window_s are NULL;
--   * an end equal to the start: window_ns = 0, and every rate divides by NULLIF(window_ns, 0).
create or replace view run_window as
with
request_bounds as (
  select run_id, min(sent_ns) as first_sent_ns, max(completion_ns) as last_completion_ns
  from request_metrics
  group by run_id
),
trim as (
  select
    run_id,
    coalesce(warmup_ns, 0)::bigint as warmup_ns,
    coalesce(cooldown_ns, 0)::bigint as cooldown_ns
  from runs
),
bounds as (
  select
    t.run_id,
    b.first_sent_ns,
    b.last_completion_ns,
    t.warmup_ns,
    t.cooldown_ns,
    b.first_sent_ns + t.warmup_ns as window_start_ns,
    b.last_completion_ns - t.cooldown_ns as window_end_ns
  from trim as t
  left join request_bounds as b on b.run_id = t.run_id
),
measured as (
  select
    *,
    case when window_end_ns >= window_start_ns then window_end_ns - window_start_ns end
      as window_ns
  from bounds
)
select
  run_id,
  first_sent_ns,
  last_completion_ns,
  warmup_ns,
  cooldown_ns,
  window_start_ns,
  window_end_ns,
  window_ns,
  window_ns / 1e9 as window_s,
  'first_sent_to_last_completion' as window_policy
from measured
