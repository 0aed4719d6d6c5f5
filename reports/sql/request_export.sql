-- request_export(ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL, failure_policy :=
-- ...): one row per request with every per-request metric, its failure and its SLO verdict:
-- what `report --format csv` writes (vLLM bench's and GuideLLM's per-request exports).
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id); sort by
-- (run_id, sent_ns, req_id).
-- Columns: identity and outcome (run_id, req_id, attempt, status, http_status, error_kind,
-- error, finish_reason), lengths (input_tokens_planned, output_tokens_planned, n_input_tokens,
-- n_output_tokens, output_chunks, cached_tokens), the metrics of request_metrics (ttft_ms,
-- ttft_incl_queue_ms, tpot_ms, e2e_ms, e2e_done_ms, normalized_latency_ms_per_token,
-- schedule_lag_ms, max_itl_ms), the run-clock times (scheduled_ns, sent_ns, first_token_ns,
-- last_token_ns, done_ns) and the verdict of request_slo (in_window, counted, meets_slo,
-- ttft_ok, tpot_ok, e2e_ok, itl_ok) under the given SLO and failure policy.
--
-- Edge cases: as request_metrics (a metric that cannot be measured is NULL, never 0) and
-- request_slo (meets_slo NULL when the request is not counted).
create or replace macro request_export(
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
judged as (
  select *
  from request_slo(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  )
)
select
  m.run_id,
  m.req_id,
  r.attempt,
  m.status,
  m.http_status,
  r.error_kind,
  r.error,
  r.finish_reason,
  r.input_tokens_planned,
  r.output_tokens_planned,
  m.n_input_tokens,
  m.n_output_tokens,
  m.output_chunks,
  r.cached_tokens,
  m.ttft_ms,
  m.ttft_incl_queue_ms,
  m.tpot_ms,
  m.e2e_ms,
  m.e2e_done_ms,
  m.normalized_latency_ms_per_token,
  m.schedule_lag_ms,
  m.max_itl_ms,
  m.scheduled_ns,
  m.sent_ns,
  m.first_token_ns,
  m.last_token_ns,
  m.done_ns,
  j.in_window,
  j.counted,
  j.meets_slo,
  j.ttft_ok,
  j.tpot_ok,
  j.e2e_ok,
  j.itl_ok
from request_metrics as m
join requests as r on r.run_id = m.run_id and r.req_id = m.req_id
join judged as j on j.run_id = m.run_id and j.req_id = m.req_id
