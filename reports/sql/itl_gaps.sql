-- itl_gaps: inter-token latency as chunk gaps (METRICS.md "ITL (chunk gaps)" and "ITL per token").
--
-- Grain: one row per gap between two consecutive token-bearing chunks of a request, all channels
-- pooled, consecutive by seq; key (run_id, req_id, seq) where seq is the LATER chunk's seq.
--
-- Definitions (times in nanoseconds on the run clock):
--   itl_ms           = (t_ns - prev_t_ns) / 1e6                 vLLM/SGLang "ITL", AIPerf "ICL"
--   itl_per_token_ms = (t_ns - prev_t_ns) / 1e6 / n_tokens      GenAI-Perf ITL; n_tokens of the
--                                                               later chunk (robust to speculative
--                                                               decoding's multi-token chunks)
--
-- Columns: run_id, req_id, status (request status), prev_seq, seq, prev_t_ns, t_ns, n_tokens and
-- channel (of the later chunk), itl_ms, itl_per_token_ms.
--
-- Edge cases:
--   * a request with 0 or 1 token-bearing chunk has no row;
--   * chunks are ordered by seq (arrival order); should the clock ever step back, the gap is
--     negative and kept as is, not hidden;
--   * gaps are listed for every status; summaries restrict to status = 'ok' themselves.
create or replace view itl_gaps as
with
ordered_chunks as (
  select
    run_id, req_id, status, seq, t_ns, n_tokens, channel,
    lag(seq) over chunk_order as prev_seq,
    lag(t_ns) over chunk_order as prev_t_ns
  from token_bearing_events
  window chunk_order as (partition by run_id, req_id order by seq)
),
gaps as (
  select
    run_id, req_id, status, prev_seq, seq, prev_t_ns, t_ns, n_tokens, channel,
    t_ns - prev_t_ns as gap_ns
  from ordered_chunks
  where prev_t_ns is not null
)
select
  run_id,
  req_id,
  status,
  prev_seq,
  seq,
  prev_t_ns,
  t_ns,
  n_tokens,
  channel,
  gap_ns / 1e6 as itl_ms,
  gap_ns / (1e6 * n_tokens) as itl_per_token_ms
from gaps
