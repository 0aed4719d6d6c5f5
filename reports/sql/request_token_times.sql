-- request_token_times: every token-bearing chunk with its time since the request was sent and
-- its gap to the previous chunk: the per-token export (`report --format parquet`) for big runs.
--
-- Grain: one row per token_bearing_events row; key (run_id, req_id, seq).
--
-- Columns: run_id, req_id, status (the request's), seq, channel, n_tokens, t_ns (run clock),
--   t_since_sent_ms = (t_ns - requests.sent_ns) / 1e6   (the first chunk's is the TTFT)
--   gap_ms          = (t_ns - prev_t_ns) / 1e6          (itl_gaps.itl_ms; NULL for the first)
--
-- Edge cases: a request never sent has t_since_sent_ms NULL; chunks are ordered by seq, so a
-- clock that stepped back gives a negative gap, kept as is (as in itl_gaps).
create or replace view request_token_times as
with
chunks as (
  select e.run_id, e.req_id, e.request_key, e.status, e.seq, e.channel, e.n_tokens, e.t_ns,
    c.prev_t_ns
  from token_bearing_events as e
  join token_chunks as c on c.request_key = e.request_key and c.seq = e.seq
)
select
  c.run_id,
  c.req_id,
  c.status,
  c.seq,
  c.channel,
  c.n_tokens,
  c.t_ns,
  (c.t_ns - r.sent_ns) / 1e6 as t_since_sent_ms,
  (c.t_ns - c.prev_t_ns) / 1e6 as gap_ms
from chunks as c
join requests as r on r.run_id = c.run_id and r.req_id = c.req_id
