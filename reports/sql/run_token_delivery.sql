-- run_token_delivery: how tokens reached the client, per run. An engine that keeps several
-- steps in flight learns their sampled tokens by batched readbacks, so tokens arrive in bursts:
-- chunk gaps near 0 ms followed by one long gap, a bimodal ITL whose percentiles say little
-- about the engine. This view measures the bursts and, for the built-in engine, the gaps of the
-- same tokens on the GPU clock.
--
-- Grain: one row per run; key run_id.
--
-- Columns:
--   steps_in_flight     the engine's steps in flight as the run's backend_info states it (the
--                       built-in engine's stepsInFlight, or servedModel.stepsInFlight: what
--                       tokentrace serve's /v1/models said); NULL when the backend says nothing
--   n_gaps              chunk gaps (itl_gaps) of status 'ok' requests
--   n_burst_gaps        of which shorter than 1 ms (BURST_MS)
--   burst_share         n_burst_gaps / n_gaps (fraction; NULL without gaps)
--   itl_p50_ms          p50 of those chunk gaps (quantile_cont)
--   engine_n_gaps       gaps between consecutive tokens of a request in engine_tokens
--                       (built-in engine only; 0 otherwise)
--   engine_gpu_itl_p50_ms      p50 of their GPU gaps (engine_steps.t_gpu_end_ns of the steps
--                              that sampled them; NULL without timestamp queries)
--   engine_delivery_burst_share share of their delivery gaps (t_delivered_ns) under 1 ms
--
-- Edge cases: a run without gaps has n_gaps = 0 and NULL share and percentile, never 0.
create or replace view run_token_delivery as
with
params (burst_ms) as (values (1.0)),
client as (
  select
    g.run_id,
    count(*) as n_gaps,
    count(*) filter (where g.itl_ms < p.burst_ms) as n_burst_gaps,
    quantile_cont(g.itl_ms, 0.5) as itl_p50_ms
  from itl_gaps as g, params as p
  where g.status = 'ok'
  group by g.run_id
),
engine_token_times as (
  select
    t.run_id,
    t.req_id,
    t.token_index,
    s.t_gpu_end_ns,
    t.t_delivered_ns,
    lag(s.t_gpu_end_ns) over w as prev_gpu_ns,
    lag(t.t_delivered_ns) over w as prev_delivered_ns
  from engine_tokens as t
  join engine_steps as s on s.run_id = t.run_id and s.step = t.step
  window w as (partition by t.run_id, t.req_id order by t.token_index)
),
engine as (
  select
    e.run_id,
    count(*) as engine_n_gaps,
    quantile_cont((e.t_gpu_end_ns - e.prev_gpu_ns) / 1e6, 0.5) as engine_gpu_itl_p50_ms,
    count(*) filter (where (e.t_delivered_ns - e.prev_delivered_ns) / 1e6 < p.burst_ms)
      / count(*) as engine_delivery_burst_share
  from engine_token_times as e, params as p
  where e.prev_delivered_ns is not null
  group by e.run_id
)
select
  r.run_id,
  coalesce(
    try_cast(json_extract(r.backend_info, '$.stepsInFlight') as integer),
    try_cast(json_extract(r.backend_info, '$.servedModel.stepsInFlight') as integer)
  ) as steps_in_flight,
  coalesce(c.n_gaps, 0) as n_gaps,
  coalesce(c.n_burst_gaps, 0) as n_burst_gaps,
  c.n_burst_gaps / nullif(c.n_gaps, 0) as burst_share,
  c.itl_p50_ms,
  coalesce(e.engine_n_gaps, 0) as engine_n_gaps,
  e.engine_gpu_itl_p50_ms,
  e.engine_delivery_burst_share
from runs as r
left join client as c on c.run_id = r.run_id
left join engine as e on e.run_id = r.run_id
