-- run_errors: why requests failed, per run: error kinds, HTTP statuses and the most frequent
-- messages, each with its count (the terminal summary and every report list them).
--
-- Grain: one row per (run_id, breakdown, key) over the run's failed requests (status 'error'
-- or 'timeout', every attempt, inside and outside the measurement window: a failure is shown
-- wherever it happened); key (run_id, breakdown, key); sort by (run_id, breakdown_order, rank).
--   breakdown    breakdown_order  key
--   error_kind   1                requests.error_kind (http, network, protocol, stream,
--                                 timeout_connect, ...); the status when none was recorded
--   http_status  2                'HTTP <code>', or 'no HTTP status' (the request failed before
--                                 or after the response head)
--   message      3                requests.error, its first 200 characters with line breaks
--                                 kept ('' when none was recorded)
-- n = failed requests with that key; share_of_failed = n / failed requests of the run
-- (fraction 0..1); rank = 1 for the most frequent key of its breakdown (ties by key).
--
-- Edge cases: a run without failed requests has no row; cancelled requests are not failures.
create or replace view run_errors as
with
failed as (
  select
    run_id,
    coalesce(error_kind, status) as error_kind,
    case when http_status is null then 'no HTTP status' else 'HTTP ' || http_status end
      as http_status,
    left(coalesce(error, ''), 200) as message
  from requests
  where status in ('error', 'timeout')
),
totals as (
  select run_id, count(*) as n_failed from failed group by run_id
),
counted as (
  select run_id, 'error_kind' as breakdown, 1 as breakdown_order, error_kind as key,
    count(*) as n
  from failed group by run_id, error_kind
  union all
  select run_id, 'http_status', 2, http_status, count(*) from failed group by run_id, http_status
  union all
  select run_id, 'message', 3, message, count(*) from failed group by run_id, message
)
select
  c.run_id,
  c.breakdown,
  c.breakdown_order,
  row_number() over (partition by c.run_id, c.breakdown order by c.n desc, c.key) as rank,
  c.key,
  c.n,
  c.n / t.n_failed as share_of_failed
from counted as c
join totals as t on t.run_id = c.run_id
