-- request_keys: an integer key for every request, so the per-event views partition and join on
-- one integer instead of two strings (measured over 10 million events on 2 cores: a window
-- partitioned by (run_id, req_id) took 2.2 s, by this key 0.8 s; docs/perf.md).
--
-- Grain: one row per `requests` row; key (run_id, req_id), and request_key.
--
-- Definition: request_key = hash(run_id, req_id) (DuckDB's 64-bit hash, UBIGINT): computed from
-- the names alone, so token events get their key without a join and the key is the same in
-- every query and snapshot of the file. status is the request's status (ok | error | timeout |
-- cancelled). n_same_key counts the requests sharing the key: 1 unless two requests collide
-- (about n^2 / 2^65: 3e-8 for a million requests); reports refuse a database where it is not 1,
-- since their events would be merged.
--
-- Edge cases: none beyond the collision above: (run_id, req_id) is unique in `requests`.
create or replace view request_keys as
with
keyed as (
  select run_id, req_id, status, hash(run_id, req_id) as request_key
  from requests
)
select
  run_id,
  req_id,
  request_key,
  status,
  count(*) over (partition by request_key) as n_same_key
from keyed
