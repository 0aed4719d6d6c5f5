-- request_metrics: per-request latency and token metrics (docs/METRICS.md, tokentrace definitions).
--
-- Grain: one row per `requests` row (every status); key (run_id, req_id), and request_key
-- (request_keys).
--
-- Anchors (BIGINT nanoseconds on the run clock):
--   sched = requests.scheduled_ns   (when the pacer planned to send)
--   sent  = requests.sent_ns        (just before the HTTP request / engine submit)
--   ft    = MIN(t_ns), lt = MAX(t_ns) over the request's token_bearing_events
--   done  = requests.done_ns        (stream end: [DONE] or close; NULL on error)
--   first_byte_ns = requests.first_byte_ns (first response body byte; the anchor of vLLM's TTFT,
--                   see anchor_request_metrics)
-- ft and lt are taken from the events (token_chunks) rather than from requests.first_token_ns /
-- last_token_ns: the events are the raw record, the same rows itl_gaps reads, so lt - ft always
-- equals the sum of the request's ITL gaps and a partly flushed row cannot make them disagree.
--
-- n (n_output_tokens) = the summed n_tokens of the token-bearing events: what was streamed, the
-- same events every time metric is taken from. The server's usage completion_tokens is kept
-- beside it (n_output_tokens_reported), never in its place: a server whose usage disagrees with
-- its stream (50 or -7 reported for 10 streamed) must not change TPOT or throughput, and the
-- disagreement is flagged by run_fidelity (usage_vs_stream_mismatch_share).
-- output_tokens_drift = reported - counted (NULL when not reported).
-- n_input_tokens = usage prompt_tokens when reported, else the planned input length.
--
-- Definitions (milliseconds):
--   ttft_ms                         = ft - sent
--   ttft_incl_queue_ms              = ft - sched
--   tpot_ms                         = (lt - ft) / (n - 1)          only when n >= 2
--   e2e_ms                          = lt - sent
--   e2e_done_ms                     = done - sent                  (SGLang's E2E)
--   normalized_latency_ms_per_token = (lt - sent) / n              only when n >= 1
--   schedule_lag_ms                 = sent - sched
--   max_itl_ms                      = MAX(itl_gaps.itl_ms) of the request (from token_chunks)
-- completion_ns = COALESCE(done, lt): when the request stopped producing (run_window uses it).
--
-- Edge cases:
--   * no token-bearing event: first/last_token_ns, ttft_ms, ttft_incl_queue_ms, tpot_ms, e2e_ms,
--     normalized_latency_ms_per_token and max_itl_ms are NULL; output_chunks and
--     n_output_tokens_counted are 0 (counts of nothing);
--   * n < 2: tpot_ms is NULL (not 0); n >= 2 in a single chunk: tpot_ms = 0 (definition holds);
--   * fewer than 2 chunks: max_itl_ms is NULL;
--   * metrics are computed for every status where the anchors exist (a timed-out request that
--     streamed has a TTFT); summaries restrict to status = 'ok' themselves.
create or replace view request_metrics as
with
events_per_request as (
  -- one pass over token_chunks: first/last token, counts and the largest gap
  select
    request_key,
    min(t_ns) as first_token_ns,
    max(t_ns) as last_token_ns,
    count(*)::integer as output_chunks,
    sum(n_tokens)::integer as n_output_tokens_counted,
    max(t_ns - prev_t_ns) / 1e6 as max_itl_ms
  from token_chunks
  group by request_key
),
anchors as (
  select
    r.run_id,
    r.req_id,
    k.request_key,
    r.status,
    r.http_status,
    r.scheduled_ns,
    r.sent_ns,
    r.first_byte_ns,
    e.first_token_ns,
    e.last_token_ns,
    r.done_ns,
    coalesce(r.done_ns, e.last_token_ns) as completion_ns,
    coalesce(r.prompt_tokens_reported, r.input_tokens_planned) as n_input_tokens,
    r.completion_tokens_reported as n_output_tokens_reported,
    coalesce(e.n_output_tokens_counted, 0) as n_output_tokens_counted,
    coalesce(e.output_chunks, 0) as output_chunks,
    e.max_itl_ms
  from requests as r
  join request_keys as k on k.run_id = r.run_id and k.req_id = r.req_id
  left join events_per_request as e on e.request_key = k.request_key
),
token_counts as (
  select
    *,
    n_output_tokens_counted as n_output_tokens,
    n_output_tokens_reported - n_output_tokens_counted as output_tokens_drift
  from anchors
)
select
  run_id,
  req_id,
  request_key,
  status,
  http_status,
  scheduled_ns,
  sent_ns,
  first_byte_ns,
  first_token_ns,
  last_token_ns,
  done_ns,
  completion_ns,
  n_input_tokens,
  n_output_tokens,
  n_output_tokens_reported,
  n_output_tokens_counted,
  output_tokens_drift,
  output_chunks,
  (first_token_ns - sent_ns) / 1e6 as ttft_ms,
  (first_token_ns - scheduled_ns) / 1e6 as ttft_incl_queue_ms,
  case when n_output_tokens >= 2
    then (last_token_ns - first_token_ns) / (1e6 * (n_output_tokens - 1))
  end as tpot_ms,
  (last_token_ns - sent_ns) / 1e6 as e2e_ms,
  (done_ns - sent_ns) / 1e6 as e2e_done_ms,
  case when n_output_tokens >= 1
    then (last_token_ns - sent_ns) / (1e6 * n_output_tokens)
  end as normalized_latency_ms_per_token,
  (sent_ns - scheduled_ns) / 1e6 as schedule_lag_ms,
  max_itl_ms
from token_counts
