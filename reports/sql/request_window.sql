-- request_window: whether each request counts in its run's measurement window (docs/METRICS.md,
-- "measurement window = after warm-up, before cool-down").
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id).
--
-- Definition: a request is placed by when it stopped, reference_ns = COALESCE(completion_ns,
-- sent_ns) (completion = done, else its last token; a request that failed before streaming has
-- only its send time; the time of an error is not recorded). It is in the window when
--   (warmup_ns = 0   OR reference_ns >= window_start_ns)   -- warm-up drops what ended during it
--   AND (cooldown_ns = 0 OR reference_ns <= window_end_ns) -- cool-down drops what ended after
-- A side without a trim drops nothing, so with no trims (the default) every request is in,
-- including a failed request sent after the last completion.
--
-- Columns: run_id, req_id, request_key, status, reference_ns, in_window.
--
-- Edge cases:
--   * a trim is set and reference_ns is NULL (never sent) or the window is NULL: in_window is
--     FALSE (it cannot be placed inside a window that exists only with trims);
--   * every summary (run_latency_summary, run_throughput, request_slo, ...) reads only requests
--     with in_window.
create or replace view request_window as
with
placed as (
  select
    m.run_id,
    m.req_id,
    m.request_key,
    m.status,
    coalesce(m.completion_ns, m.sent_ns) as reference_ns,
    w.warmup_ns,
    w.cooldown_ns,
    w.window_start_ns,
    w.window_end_ns
  from request_metrics as m
  join run_window as w on w.run_id = m.run_id
),
decided as (
  select
    run_id,
    req_id,
    request_key,
    status,
    reference_ns,
    coalesce(warmup_ns = 0 or reference_ns >= window_start_ns, false)
      and coalesce(cooldown_ns = 0 or reference_ns <= window_end_ns, false) as in_window
  from placed
)
select run_id, req_id, request_key, status, reference_ns, in_window
from decided
