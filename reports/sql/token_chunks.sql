-- token_chunks: the token-bearing chunks of every request on one integer key, each with the time
-- of the request's previous token-bearing chunk: the narrow table every latency summary reads.
--
-- Grain: one row per token_bearing_events row; key (request_key, seq).
--
-- Columns: request_key (request_keys), seq, t_ns, n_tokens, prev_t_ns = t_ns of the chunk before
-- it in seq order among the request's token-bearing chunks (NULL for the first).
--
-- Why a separate view: it carries no string, so the one sort it needs (the window) and every
-- scan of it stay cheap. Over 10 million events on 2 cores, carrying run_id, req_id and channel
-- through the window cost 2.1 s against 0.8 s without (docs/perf.md). itl_gaps and
-- request_metrics are defined on it; token_bearing_events keeps the names for people.
--
-- Edge cases: a request's first chunk has prev_t_ns NULL; chunks are ordered by seq (arrival
-- order), so a clock that stepped back gives a negative gap downstream, kept as is.
create or replace view token_chunks as
with
chunks as (
  select request_key, seq, t_ns, n_tokens
  from token_bearing_events
)
select
  request_key,
  seq,
  t_ns,
  n_tokens,
  lag(t_ns) over (partition by request_key order by seq) as prev_t_ns
from chunks
