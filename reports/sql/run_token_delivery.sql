-- run_token_delivery: how tokens reached the client, per run. An engine that keeps several
-- steps in flight learns their sampled tokens by batched readbacks, so tokens arrive in bursts:
-- chunk gaps near 0 ms followed by one long gap, a bimodal ITL whose percentiles say little
-- about the engine. This view measures the bursts from the client's records alone (so it, and
-- run_fidelity on it, also run in the dashboard's console); run_engine_token_delivery sets the
-- built-in engine's own GPU token gaps beside them.
--
-- Grain: one row per run; key run_id.
--
-- Columns:
--   steps_in_flight     the engine's steps in flight as the run's backend_info states it (the
--                       built-in engine's stepsInFlight, or servedModel.stepsInFlight: what
--                       tokentrace serve's /v1/models said; the first "stepsInFlight" in the
--                       JSON text); NULL when the backend says nothing
--   n_gaps              chunk gaps (itl_gaps) of status 'ok' requests
--   n_burst_gaps        of which shorter than 1 ms (burst_ms)
--   burst_share         n_burst_gaps / n_gaps (fraction; NULL without gaps)
--   itl_p50_ms          p50 of those chunk gaps (quantile_cont)
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
)
select
  r.run_id,
  -- a string match rather than json_extract: the dashboard's console has backend_info as text
  try_cast(
    nullif(regexp_extract(r.backend_info::varchar, '"stepsInFlight":\s*(\d+)', 1), '')
    as integer
  ) as steps_in_flight,
  coalesce(c.n_gaps, 0) as n_gaps,
  coalesce(c.n_burst_gaps, 0) as n_burst_gaps,
  c.n_burst_gaps / nullif(c.n_gaps, 0) as burst_share,
  c.itl_p50_ms
from runs as r
left join client as c on c.run_id = r.run_id
