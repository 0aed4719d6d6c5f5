-- request_length_drift: realized vs planned request lengths, per request (docs/METRICS.md "Fidelity:
-- lengths: realized input/output tokens vs planned (server usage), per request").
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id).
--
-- Definitions (tokens; reported = the server's usage, NULL when it sent none):
--   input_drift_tokens         = prompt_tokens_reported - input_tokens_planned
--   output_drift_tokens        = n_output_tokens - output_tokens_planned, where n_output_tokens is
--                                the count from the stream (request_metrics)
--   output_usage_drift_tokens  = completion_tokens_reported - output tokens counted from events
--                                (request_metrics.output_tokens_drift)
--   cached_tokens              = usage's cached prompt tokens (prefix cache hits), as reported
--   finish_reason              = why the server stopped ('length' when max_tokens was reached)
--
-- Edge cases: a drift whose two sides are not both known is NULL (never 0): no usage -> NULL
-- input and usage drifts; a request that ended with no token has n_output_tokens 0, so its
-- output drift is -planned (it produced nothing).
create or replace view request_length_drift as
with
lengths as (
  select
    r.run_id,
    r.req_id,
    r.status,
    r.input_tokens_planned,
    r.prompt_tokens_reported as input_tokens_reported,
    r.output_tokens_planned,
    m.n_output_tokens,
    m.n_output_tokens_reported as output_tokens_reported,
    m.n_output_tokens_counted as output_tokens_counted,
    m.output_tokens_drift as output_usage_drift_tokens,
    r.cached_tokens,
    r.finish_reason
  from requests as r
  join request_metrics as m on m.run_id = r.run_id and m.req_id = r.req_id
)
select
  run_id,
  req_id,
  status,
  input_tokens_planned,
  input_tokens_reported,
  input_tokens_reported - input_tokens_planned as input_drift_tokens,
  output_tokens_planned,
  n_output_tokens,
  output_tokens_reported,
  output_tokens_counted,
  n_output_tokens - output_tokens_planned as output_drift_tokens,
  output_usage_drift_tokens,
  cached_tokens,
  finish_reason
from lengths
