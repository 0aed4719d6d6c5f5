-- request_server_timings: the server's own account of a request (llama.cpp's `timings`, which
-- tokentrace serve also sends) beside the client's measurement of the same request.
--
-- Grain: one row per `requests` row that carries server timings (server_prompt_ms or
-- server_predicted_ms not NULL); key (run_id, req_id).
--
-- Definitions (milliseconds):
--   server_ttft_ms           = server_prompt_ms: llama-server's prompt processing time (from
--                              the start of processing to the first token: queueing excluded);
--                              tokentrace serve's arrival-to-first-token on the GPU clock
--                              (waiting for admission included)
--   server_tpot_ms           = server_predicted_ms / (server_predicted_tokens - 1), only when
--                              server_predicted_tokens >= 2: the generation time runs from the
--                              first token to the last, so it spans n - 1 gaps, as tpot_ms does
--   ttft_minus_server_ms     = request_metrics.ttft_ms - server_ttft_ms  (network, HTTP and,
--                              for llama-server, queueing)
--   tpot_minus_server_ms     = request_metrics.tpot_ms - server_tpot_ms  (delivery, e.g. steps in
--                              flight delivering tokens in bursts, averages out in TPOT)
--
-- Edge cases: a side that is NULL (no token, n < 2) makes its difference NULL, never 0; every
-- status is listed (summaries restrict to status = 'ok').
create or replace view request_server_timings as
with
timed as (
  select run_id, req_id, server_prompt_tokens, server_prompt_ms, server_predicted_tokens,
    server_predicted_ms
  from requests
  where server_prompt_ms is not null or server_predicted_ms is not null
),
server as (
  select
    *,
    server_prompt_ms as server_ttft_ms,
    case when server_predicted_tokens >= 2
      then server_predicted_ms / (server_predicted_tokens - 1) end as server_tpot_ms
  from timed
)
select
  s.run_id,
  s.req_id,
  m.status,
  m.ttft_ms,
  s.server_ttft_ms,
  m.ttft_ms - s.server_ttft_ms as ttft_minus_server_ms,
  m.tpot_ms,
  s.server_tpot_ms,
  m.tpot_ms - s.server_tpot_ms as tpot_minus_server_ms,
  s.server_prompt_tokens,
  s.server_predicted_tokens
from server as s
join request_metrics as m on m.run_id = s.run_id and m.req_id = s.req_id
