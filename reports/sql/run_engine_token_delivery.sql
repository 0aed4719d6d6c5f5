-- run_engine_token_delivery: the built-in engine's tokens on its own clocks, per run: the gaps
-- between consecutive tokens of a request at the GPU end of the steps that sampled them, and at
-- their delivery to the host (engine_tokens.t_delivered_ns), which is bursty with several steps
-- in flight (one readback brings several steps' tokens). Beside run_token_delivery's client-side
-- view of the same run.
--
-- Grain: one row per run with engine_tokens rows (built-in engine only); key run_id.
--
-- Columns:
--   engine_n_gaps               gaps between consecutive tokens of a request (token_index order)
--   engine_gpu_itl_p50_ms       p50 of their GPU gaps (engine_steps.t_gpu_end_ns; NULL without
--                               timestamp queries), quantile_cont
--   delivery_itl_p50_ms         p50 of their delivery gaps, quantile_cont
--   delivery_burst_share        share of the delivery gaps under 1 ms (fraction)
--
-- Edge cases: a run whose requests have single tokens has no gaps and no row.
create or replace view run_engine_token_delivery as
with
params (burst_ms) as (values (1.0)),
token_times as (
  select
    t.run_id,
    s.t_gpu_end_ns,
    t.t_delivered_ns,
    lag(s.t_gpu_end_ns) over w as prev_gpu_ns,
    lag(t.t_delivered_ns) over w as prev_delivered_ns
  from engine_tokens as t
  join engine_steps as s on s.run_id = t.run_id and s.step = t.step
  window w as (partition by t.run_id, t.req_id order by t.token_index)
),
gaps as (
  select
    run_id,
    (t_gpu_end_ns - prev_gpu_ns) / 1e6 as gpu_gap_ms,
    (t_delivered_ns - prev_delivered_ns) / 1e6 as delivery_gap_ms
  from token_times
  where prev_delivered_ns is not null
)
select
  g.run_id,
  count(*) as engine_n_gaps,
  quantile_cont(g.gpu_gap_ms, 0.5) as engine_gpu_itl_p50_ms,
  quantile_cont(g.delivery_gap_ms, 0.5) as delivery_itl_p50_ms,
  count(*) filter (where g.delivery_gap_ms < p.burst_ms) / count(*) as delivery_burst_share
from gaps as g, params as p
group by g.run_id
