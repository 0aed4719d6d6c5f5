-- run_throughput: request counts and throughput of each run over its run_window (docs/METRICS.md).
--
-- Grain: one row per `runs` row; key run_id.
--
-- Counts (the run's requests inside the measurement window, request_window.in_window, by
-- status): n_total, n_ok (completed), n_error, n_timeout, n_cancelled, n_in_flight (sent and not
-- ended: a run still recording, or one whose process died); n_outside_window counts
-- the requests the warm-up / cool-down trims left out. Token totals over completed (status 'ok')
-- in-window requests: output_tokens =
-- SUM(n_output_tokens), input_tokens = SUM(n_input_tokens) (usage when reported, else counted /
-- planned: see request_metrics). Counts and totals of nothing are 0: they are exact.
--
-- Rates (per second of run_window.window_ns; completed requests only, as vLLM's benchmark):
--   request_throughput_rps         = n_ok / window_s
--   output_tokens_per_s            = output_tokens / window_s
--   total_tokens_per_s             = (input_tokens + output_tokens) / window_s
--   max_output_tokens_per_s_1s_bin = MAX over 1 s bins [window_start + k s, window_start +
--                                    (k+1) s) of the n_tokens of completed requests' token-bearing
--                                    events in the bin (events carry times; usage does not)
--
-- Edge cases:
--   * window_ns NULL or 0: every rate is NULL (not 0);
--   * no token event of a completed request in the window: max_output_tokens_per_s_1s_bin NULL;
--   * the last bin is usually shorter than 1 s and is not scaled up, so a run shorter than 1 s
--     shows its token count as the peak, which can sit below output_tokens_per_s.
create or replace view run_throughput as
with
counted_requests as (
  select m.*, w.in_window
  from request_metrics as m
  join request_window as w on w.request_key = m.request_key
),
per_run as (
  select
    run_id,
    count(*) filter (where not in_window) as n_outside_window,
    count(*) filter (where in_window) as n_total,
    count(*) filter (where in_window and status = 'ok') as n_ok,
    count(*) filter (where in_window and status = 'error') as n_error,
    count(*) filter (where in_window and status = 'timeout') as n_timeout,
    count(*) filter (where in_window and status = 'cancelled') as n_cancelled,
    count(*) filter (where in_window and status = 'in_flight') as n_in_flight,
    coalesce(sum(n_output_tokens) filter (where in_window and status = 'ok'), 0)::bigint
      as output_tokens,
    coalesce(sum(n_input_tokens) filter (where in_window and status = 'ok'), 0)::bigint
      as input_tokens
  from counted_requests
  group by run_id
),
completed_keys as (
  -- completed requests with their run's window bounds (small: one row per request)
  select k.request_key, k.run_id, w.window_start_ns, w.window_end_ns
  from request_keys as k
  join run_window as w on w.run_id = k.run_id
  where k.status = 'ok'
),
token_bins as (
  -- token_chunks (the token-bearing events on their integer key) of completed requests
  select
    k.run_id,
    (c.t_ns - k.window_start_ns) // 1000000000 as bin_index,
    sum(c.n_tokens) as bin_tokens
  from token_chunks as c
  join completed_keys as k on k.request_key = c.request_key
  where c.t_ns between k.window_start_ns and k.window_end_ns
  group by k.run_id, bin_index
),
peak_bin as (
  select run_id, max(bin_tokens)::bigint as max_bin_tokens
  from token_bins
  group by run_id
),
joined as (
  select
    r.run_id,
    w.window_ns,
    w.window_s,
    coalesce(p.n_total, 0) as n_total,
    coalesce(p.n_ok, 0) as n_ok,
    coalesce(p.n_error, 0) as n_error,
    coalesce(p.n_timeout, 0) as n_timeout,
    coalesce(p.n_cancelled, 0) as n_cancelled,
    coalesce(p.n_in_flight, 0) as n_in_flight,
    coalesce(p.n_outside_window, 0) as n_outside_window,
    coalesce(p.output_tokens, 0) as output_tokens,
    coalesce(p.input_tokens, 0) as input_tokens,
    b.max_bin_tokens,
    nullif(w.window_ns, 0) as rate_denominator_ns
  from runs as r
  left join run_window as w on w.run_id = r.run_id
  left join per_run as p on p.run_id = r.run_id
  left join peak_bin as b on b.run_id = r.run_id
)
select
  run_id,
  window_s,
  n_total,
  n_ok,
  n_error,
  n_timeout,
  n_cancelled,
  n_outside_window,
  n_in_flight,
  output_tokens,
  input_tokens,
  n_ok * 1e9 / rate_denominator_ns as request_throughput_rps,
  output_tokens * 1e9 / rate_denominator_ns as output_tokens_per_s,
  (input_tokens + output_tokens) * 1e9 / rate_denominator_ns as total_tokens_per_s,
  max_bin_tokens::double as max_output_tokens_per_s_1s_bin
from joined
