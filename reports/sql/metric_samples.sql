-- metric_samples: the latency samples comparisons resample, one row per sample (docs/METRICS.md:
-- "Comparisons carry bootstrap confidence intervals").
--
-- Grain: one row per (run_id, metric, sample); key (run_id, metric, sample_key) up to hash ties.
--
-- Population and values as run_latency_summary (status 'ok', in the measurement window, NULL
-- values dropped): metric in ttft_ms, tpot_ms (n >= 2), e2e_ms (one sample per request) and
-- itl_ms (one per chunk gap, pooled). sample_key = hash(request_key, seq) (seq -1 for per-request
-- metrics): a pseudo-random but fixed key that bootstrap_compare subsamples and orders by, so a
-- comparison is reproducible.
--
-- Edge cases: a run or metric without samples has no row (bootstrap_compare reports n = 0).
create or replace view metric_samples as
with
completed_requests as (
  select m.run_id, m.request_key, m.ttft_ms, m.tpot_ms, m.e2e_ms
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  where m.status = 'ok' and w.in_window
),
samples as (
  select run_id, 'ttft_ms' as metric, hash(request_key, -1) as sample_key, ttft_ms as value_ms
  from completed_requests
  union all
  select run_id, 'tpot_ms', hash(request_key, -1), tpot_ms from completed_requests
  union all
  select run_id, 'e2e_ms', hash(request_key, -1), e2e_ms from completed_requests
  union all
  select w.run_id, 'itl_ms', hash(c.request_key, c.seq), (c.t_ns - c.prev_t_ns) / 1e6
  from token_chunks as c
  join request_window as w on w.request_key = c.request_key
  where c.prev_t_ns is not null and w.status = 'ok' and w.in_window
)
select run_id, metric, sample_key, value_ms
from samples
where value_ms is not null
