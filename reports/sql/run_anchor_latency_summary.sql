-- run_anchor_latency_summary: latency distributions under other tools' metric names (docs/METRICS.md
-- anchor variants), with the same population and statistics as run_latency_summary.
--
-- Grain: one row per (run_id, metric) for every run and each metric below, even without samples
-- (n = 0, statistics NULL, never 0); key (run_id, metric).
--
-- Population: status 'ok' requests inside the measurement window (request_window.in_window).
--   metric                            tool            source                        same_as
--   vllm_ttft_ms                      vllm            anchor_request_metrics        -
--   vllm_tpot_ms                      vllm            anchor_request_metrics        -
--   vllm_itl_ms                       vllm            itl_gaps.itl_ms (pooled)       itl_ms
--   vllm_e2el_ms                      vllm            anchor_request_metrics        e2e_ms
--   sglang_itl_ms                     sglang          itl_gaps.itl_ms (pooled)       itl_ms
--   sglang_e2e_ms                     sglang          anchor_request_metrics        -
--   aiperf_itl_ms                     aiperf          anchor_request_metrics        tpot_ms
--   aiperf_icl_ms                     aiperf          itl_gaps.itl_ms (pooled)       itl_ms
--   genai_perf_itl_ms                 genai_perf      itl_gaps.itl_per_token_ms      itl_per_token_ms
--   guidellm_tpot_ms                  guidellm        anchor_request_metrics        normalized_latency_ms_per_token
--   distserve_ftl_ms                  distserve       anchor_request_metrics        ttft_ms
--   distserve_tpot_ms                 distserve       anchor_request_metrics        tpot_ms
--   inference_perf_ntpot_ms           inference_perf  anchor_request_metrics        normalized_latency_ms_per_token
--   inference_perf_schedule_delay_ms  inference_perf  anchor_request_metrics        schedule_lag_ms
-- same_as names the run_latency_summary metric with the identical definition (NULL: it differs);
-- the chunk-gap rows are copied from run_latency_summary's rows for itl_ms / itl_per_token_ms.
--
-- Statistics: n = COUNT of samples, mean_ms, p50_ms .. p999_ms by quantile_cont (linear
-- interpolation), max_ms; percentile_method names the method. Sort by (run_id, metric_order).
create or replace view run_anchor_latency_summary as
with
metric_names (metric_order, tool, metric, same_as) as (
  values
    (1, 'vllm', 'vllm_ttft_ms', null),
    (2, 'vllm', 'vllm_tpot_ms', null),
    (3, 'vllm', 'vllm_itl_ms', 'itl_ms'),
    (4, 'vllm', 'vllm_e2el_ms', 'e2e_ms'),
    (5, 'sglang', 'sglang_itl_ms', 'itl_ms'),
    (6, 'sglang', 'sglang_e2e_ms', null),
    (7, 'aiperf', 'aiperf_itl_ms', 'tpot_ms'),
    (8, 'aiperf', 'aiperf_icl_ms', 'itl_ms'),
    (9, 'genai_perf', 'genai_perf_itl_ms', 'itl_per_token_ms'),
    (10, 'guidellm', 'guidellm_tpot_ms', 'normalized_latency_ms_per_token'),
    (11, 'distserve', 'distserve_ftl_ms', 'ttft_ms'),
    (12, 'distserve', 'distserve_tpot_ms', 'tpot_ms'),
    (13, 'inference_perf', 'inference_perf_ntpot_ms', 'normalized_latency_ms_per_token'),
    (14, 'inference_perf', 'inference_perf_schedule_delay_ms', 'schedule_lag_ms')
),
completed_requests as (
  select a.*
  from anchor_request_metrics as a
  join request_window as w on w.request_key = a.request_key
  where a.status = 'ok' and w.in_window
),
request_samples as (
  unpivot (
    select run_id, vllm_ttft_ms, vllm_tpot_ms, vllm_e2el_ms, sglang_e2e_ms, aiperf_itl_ms,
      guidellm_tpot_ms, distserve_ftl_ms, distserve_tpot_ms, inference_perf_ntpot_ms,
      inference_perf_schedule_delay_ms
    from completed_requests
  )
  on columns(* exclude (run_id))
  into name metric value value_ms
),
request_aggregates as (
  select
    run_id, metric, count(value_ms) as n, avg(value_ms) as mean_ms,
    quantile_cont(value_ms, [0.5, 0.9, 0.95, 0.99, 0.999]) as q, max(value_ms) as max_ms
  from request_samples
  where value_ms is not null
  group by run_id, metric
),
aggregated as (
  select run_id, metric, n, mean_ms, q[1] as p50_ms, q[2] as p90_ms, q[3] as p95_ms,
    q[4] as p99_ms, q[5] as p999_ms, max_ms
  from request_aggregates
  union all
  -- the chunk-gap names are the same samples as run_latency_summary's gap rows: read, not redone
  select s.run_id, m.metric, s.n, s.mean_ms, s.p50_ms, s.p90_ms, s.p95_ms, s.p99_ms, s.p999_ms,
    s.max_ms
  from run_latency_summary as s
  join metric_names as m on m.same_as = s.metric
  where m.metric in ('vllm_itl_ms', 'sglang_itl_ms', 'aiperf_icl_ms', 'genai_perf_itl_ms')
    and s.n > 0
),
grid as (
  select r.run_id, m.metric_order, m.tool, m.metric, m.same_as
  from runs as r
  cross join metric_names as m
)
select
  g.run_id,
  g.tool,
  g.metric,
  g.metric_order,
  g.same_as,
  coalesce(s.n, 0) as n,
  s.mean_ms,
  s.p50_ms,
  s.p90_ms,
  s.p95_ms,
  s.p99_ms,
  s.p999_ms,
  s.max_ms,
  'quantile_cont' as percentile_method
from grid as g
left join aggregated as s on s.run_id = g.run_id and s.metric = g.metric
