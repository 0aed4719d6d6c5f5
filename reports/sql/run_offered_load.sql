-- run_offered_load: the arrival rate a run asked for and the send rate it achieved (docs/METRICS.md
-- "Fidelity: arrivals"; the x axis of the attainment-vs-rate curve of a sweep).
--
-- Grain: one row per `runs` row; key run_id.
--
-- Definitions (every request row of the run, whatever its status or window; times run clock):
--   n_scheduled        = requests with scheduled_ns;  n_sent = requests with sent_ns
--   offered_rps        = (n_scheduled - 1) / ((MAX(scheduled_ns) - MIN(scheduled_ns)) / 1e9)
--   achieved_send_rps  = (n_sent - 1) / ((MAX(sent_ns) - MIN(sent_ns)) / 1e9)
--   send_rate_ratio    = achieved_send_rps / offered_rps (1 = the pacer kept the schedule)
-- Rates count the n - 1 inter-arrival intervals between the first and last arrival, so a
-- schedule of requests exactly 1/r s apart reads exactly r.
--
-- Edge cases: fewer than 2 requests, or all at one instant: the rate is NULL (not 0 nor
-- infinite), and so is send_rate_ratio.
create or replace view run_offered_load as
with
per_run as (
  select
    run_id,
    count(scheduled_ns) as n_scheduled,
    min(scheduled_ns) as first_scheduled_ns,
    max(scheduled_ns) as last_scheduled_ns,
    count(sent_ns) as n_sent,
    min(sent_ns) as first_sent_ns,
    max(sent_ns) as last_sent_ns
  from requests
  group by run_id
),
rates as (
  select
    r.run_id,
    coalesce(p.n_scheduled, 0) as n_scheduled,
    coalesce(p.n_sent, 0) as n_sent,
    p.first_scheduled_ns,
    p.last_scheduled_ns,
    p.first_sent_ns,
    p.last_sent_ns,
    (p.n_scheduled - 1) * 1e9 / nullif(p.last_scheduled_ns - p.first_scheduled_ns, 0)
      as offered_rps,
    (p.n_sent - 1) * 1e9 / nullif(p.last_sent_ns - p.first_sent_ns, 0) as achieved_send_rps
  from runs as r
  left join per_run as p on p.run_id = r.run_id
)
select
  run_id,
  n_scheduled,
  n_sent,
  first_scheduled_ns,
  last_scheduled_ns,
  first_sent_ns,
  last_sent_ns,
  offered_rps,
  achieved_send_rps,
  achieved_send_rps / offered_rps as send_rate_ratio
from rates
