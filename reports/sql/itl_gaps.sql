-- itl_gaps: inter-token latency as chunk gaps (docs/METRICS.md "ITL (chunk gaps)" and "ITL per token").
--
-- Grain: one row per gap between two consecutive token-bearing chunks of a request, all channels
-- pooled, consecutive by seq; key (run_id, req_id, seq) where seq is the LATER chunk's seq.
--
-- Definitions (times in nanoseconds on the run clock; from token_chunks):
--   itl_ms           = (t_ns - prev_t_ns) / 1e6                 vLLM/SGLang "ITL", AIPerf "ICL"
--   itl_per_token_ms = (t_ns - prev_t_ns) / 1e6 / n_tokens      GenAI-Perf ITL; n_tokens of the
--                                                               later chunk (robust to speculative
--                                                               decoding's multi-token chunks)
--
-- Columns: run_id, req_id, request_key, status (request status), seq, t_ns and n_tokens (of the
-- later chunk), prev_t_ns, itl_ms, itl_per_token_ms. The summaries read token_chunks directly
-- (no names); this view adds them for people and tests.
--
-- Edge cases:
--   * a request with 0 or 1 token-bearing chunk has no row;
--   * chunks are ordered by seq (arrival order); should the clock ever step back, the gap is
--     negative and kept as is, not hidden;
--   * gaps are listed for every status; summaries restrict to status = 'ok' themselves.
create or replace view itl_gaps as
with
gaps as (
  select request_key, seq, t_ns, n_tokens, prev_t_ns, t_ns - prev_t_ns as gap_ns
  from token_chunks
  where prev_t_ns is not null
)
select
  k.run_id,
  k.req_id,
  g.request_key,
  k.status,
  g.seq,
  g.t_ns,
  g.n_tokens,
  g.prev_t_ns,
  g.gap_ns / 1e6 as itl_ms,
  g.gap_ns / (1e6 * g.n_tokens) as itl_per_token_ms
from gaps as g
join request_keys as k on k.request_key = g.request_key
