-- run_length_summary: input and output lengths of each run's requests, planned and realized
-- (what vLLM bench, GuideLLM and AIPerf print beside latencies: the load is only comparable
-- when the lengths are).
--
-- Grain: one row per (run_id, metric) for every run and the 4 metrics below, even when the run
-- has no sample (n = 0, statistics NULL, never 0); key (run_id, metric); sort by metric_order.
--   metric                  population                           sample (tokens)
--   input_tokens_planned    sent requests in the window          requests.input_tokens_planned
--   input_tokens            completed (status ok) in the window  request_metrics.n_input_tokens
--                                                                (usage prompt tokens, else planned)
--   output_tokens_planned   sent requests in the window          requests.output_tokens_planned
--   output_tokens           completed (status ok) in the window  request_metrics.n_output_tokens
--                                                                (usage, else counted on the stream)
-- Statistics: n = COUNT, mean_tokens = AVG, p50/p90/p99_tokens = quantile_cont at 0.5, 0.9,
-- 0.99, min_tokens / max_tokens, total_tokens = SUM.
create or replace view run_length_summary as
with
metric_names (metric_order, metric) as (
  values
    (1, 'input_tokens_planned'),
    (2, 'input_tokens'),
    (3, 'output_tokens_planned'),
    (4, 'output_tokens')
),
in_window as (
  select m.run_id, m.status, m.sent_ns, r.input_tokens_planned, r.output_tokens_planned,
    m.n_input_tokens, m.n_output_tokens
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
  join requests as r on r.run_id = m.run_id and r.req_id = m.req_id
  where w.in_window
),
samples as (
  select run_id, 'input_tokens_planned' as metric, input_tokens_planned as tokens
  from in_window where sent_ns is not null
  union all
  select run_id, 'input_tokens', n_input_tokens from in_window where status = 'ok'
  union all
  select run_id, 'output_tokens_planned', output_tokens_planned
  from in_window where sent_ns is not null
  union all
  select run_id, 'output_tokens', n_output_tokens from in_window where status = 'ok'
),
stats as (
  select
    run_id,
    metric,
    count(tokens) as n,
    avg(tokens) as mean_tokens,
    quantile_cont(tokens, [0.5, 0.9, 0.99]) as q,
    min(tokens) as min_tokens,
    max(tokens) as max_tokens,
    sum(tokens) as total_tokens
  from samples
  where tokens is not null
  group by run_id, metric
)
select
  r.run_id,
  m.metric,
  m.metric_order,
  coalesce(s.n, 0) as n,
  s.mean_tokens,
  s.q[1] as p50_tokens,
  s.q[2] as p90_tokens,
  s.q[3] as p99_tokens,
  s.min_tokens,
  s.max_tokens,
  s.total_tokens
from runs as r
cross join metric_names as m
left join stats as s on s.run_id = r.run_id and s.metric = m.metric
