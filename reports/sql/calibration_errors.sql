-- calibration_errors: the harness's own measurement error in one calibration run, against the
-- scripted server whose send times are the truth.
--
-- Inputs (made by `tokentrace calibrate`, temporary): calib_sends(req_id, seq, send_unix_ns),
-- the server's time just before it wrote chunk `seq` to the socket (or enqueued it, for a server
-- not on raw_http.ts); calib_arrivals(req_id,
-- arrival_unix_ns), when the request reached the server. Client times are run-clock ns mapped
-- to the wall clock through runs.clock_origin_unix_ns.
--
-- Definitions (all in ms; percentiles: quantile_cont over absolute errors, with counts):
--   token error     = client time of chunk k - server send time of chunk k   (>= 0 expected)
--   gap error       = (client_k - client_{k-1}) - (send_k - send_{k-1}), k >= 1
--   first token err = token error of chunk 0 alone (its read follows the response head, so
--                     its tail can differ from the later chunks')
--   TTFT error      = measured TTFT (client first token - client sent)
--                     - true TTFT (server first send - server arrival)
--   schedule lag    = sent - scheduled (the pacer's own lateness)
-- Grain: one row for the run. Empty inputs give NULL statistics and zero counts.
create or replace macro calibration_errors(run) as table
with
client_tokens as (
  select t.req_id, t.seq, r.clock_origin_unix_ns + t.t_ns as client_unix_ns
  from token_events t join runs r using (run_id)
  where t.run_id = run
),
paired as (
  select c.req_id, c.seq, c.client_unix_ns, s.send_unix_ns,
    (c.client_unix_ns - s.send_unix_ns) / 1e6 as token_err_ms,
    ((c.client_unix_ns - lag(c.client_unix_ns) over w)
      - (s.send_unix_ns - lag(s.send_unix_ns) over w)) / 1e6 as gap_err_ms
  from client_tokens c join calib_sends s using (req_id, seq)
  window w as (partition by c.req_id order by c.seq)
),
ttft as (
  select q.req_id,
    ((min(p.client_unix_ns) - (r.clock_origin_unix_ns + q.sent_ns))
      - (min(p.send_unix_ns) - a.arrival_unix_ns)) / 1e6 as ttft_err_ms
  from requests q
  join runs r using (run_id)
  join paired p on p.req_id = q.req_id
  join calib_arrivals a on a.req_id = q.req_id
  where q.run_id = run and q.status = 'ok'
  group by q.req_id, q.sent_ns, r.clock_origin_unix_ns, a.arrival_unix_ns
),
lag_ms as (
  select (sent_ns - scheduled_ns) / 1e6 as schedule_lag_ms
  from requests where run_id = run and attempt is distinct from 1 and sent_ns is not null
)
select
  (select count(*) from ttft)::integer as n_requests,
  (select count(*) from paired)::integer as n_tokens,
  (select quantile_cont(abs(ttft_err_ms), 0.5) from ttft) as ttft_err_p50_ms,
  (select quantile_cont(abs(ttft_err_ms), 0.99) from ttft) as ttft_err_p99_ms,
  (select max(abs(ttft_err_ms)) from ttft) as ttft_err_max_ms,
  (select quantile_cont(abs(gap_err_ms), 0.5) from paired where gap_err_ms is not null) as gap_err_p50_ms,
  (select quantile_cont(abs(gap_err_ms), 0.99) from paired where gap_err_ms is not null) as gap_err_p99_ms,
  (select max(abs(gap_err_ms)) from paired) as gap_err_max_ms,
  (select quantile_cont(abs(token_err_ms), 0.5) from paired) as token_err_p50_ms,
  (select quantile_cont(abs(token_err_ms), 0.99) from paired) as token_err_p99_ms,
  (select max(abs(token_err_ms)) from paired) as token_err_max_ms,
  (select quantile_cont(abs(token_err_ms), 0.5) from paired where seq = 0) as first_token_err_p50_ms,
  (select quantile_cont(abs(token_err_ms), 0.99) from paired where seq = 0) as first_token_err_p99_ms,
  (select max(abs(token_err_ms)) from paired where seq = 0) as first_token_err_max_ms,
  (select quantile_cont(schedule_lag_ms, 0.5) from lag_ms) as schedule_lag_p50_ms,
  (select quantile_cont(schedule_lag_ms, 0.99) from lag_ms) as schedule_lag_p99_ms,
  (select max(schedule_lag_ms) from lag_ms) as schedule_lag_max_ms;
