-- anchor_request_metrics: per-request metrics as other tools define them, under their names, so
-- numbers line up with published results (docs/METRICS.md, "anchor variants").
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id), and request_key.
--
-- Definitions (milliseconds; n = request_metrics.n_output_tokens; times as in request_metrics):
--   vllm_ttft_ms         = first_byte - sent. vLLM's benchmark starts its clock at the first
--                          event with non-empty `choices`, a role-only chat chunk included (it
--                          understates TTFT). tokentrace does not store empty chunks; the first
--                          response body byte is the recorded anchor closest to that event (the
--                          same when the body opens with it). NULL when no byte arrived.
--   vllm_tpot_ms         = (vllm_e2el_ms - vllm_ttft_ms) / (n - 1), n >= 2  (vLLM's formula on
--                          its own anchors; equals tpot_ms when first byte = first token)
--   vllm_e2el_ms         = lt - sent                                (same as e2e_ms)
--   sglang_e2e_ms        = done - sent (includes the trailing [DONE]; same as e2e_done_ms)
--   aiperf_itl_ms        = (lt - ft) / (n - 1), n >= 2               (AIPerf's "ITL" is TPOT)
--   guidellm_tpot_ms     = (lt - sent) / n, n >= 1                   (includes TTFT)
--   distserve_ftl_ms     = ft - sent                                 (same as ttft_ms)
--   distserve_tpot_ms    = (lt - ft) / (n - 1), n >= 2               (same as tpot_ms)
--   inference_perf_ntpot_ms          = (lt - sent) / n, n >= 1 (normalized latency)
--   inference_perf_schedule_delay_ms = sent - sched                  (same as schedule_lag_ms)
-- The chunk-gap variants (vLLM/SGLang "ITL", AIPerf "ICL", GenAI-Perf per-token ITL) are rows
-- of itl_gaps; run_anchor_latency_summary summarizes both.
--
-- Edge cases: a missing anchor gives NULL (never 0); n below the stated minimum gives NULL.
create or replace view anchor_request_metrics as
with
anchors as (
  select
    run_id,
    req_id,
    request_key,
    status,
    n_output_tokens,
    (first_byte_ns - sent_ns) / 1e6 as first_byte_ms,
    ttft_ms,
    tpot_ms,
    e2e_ms,
    e2e_done_ms,
    normalized_latency_ms_per_token,
    schedule_lag_ms
  from request_metrics
)
select
  run_id,
  req_id,
  request_key,
  status,
  first_byte_ms as vllm_ttft_ms,
  case when n_output_tokens >= 2
    then (e2e_ms - first_byte_ms) / (n_output_tokens - 1)
  end as vllm_tpot_ms,
  e2e_ms as vllm_e2el_ms,
  e2e_done_ms as sglang_e2e_ms,
  tpot_ms as aiperf_itl_ms,
  normalized_latency_ms_per_token as guidellm_tpot_ms,
  ttft_ms as distserve_ftl_ms,
  tpot_ms as distserve_tpot_ms,
  normalized_latency_ms_per_token as inference_perf_ntpot_ms,
  schedule_lag_ms as inference_perf_schedule_delay_ms
from anchors
