-- run_throughput: request counts and throughput of each run over its run_window (METRICS.md).
--
-- Grain: one row per `runs` row; key run_id.
--
-- Counts (every request of the run, by status): n_total, n_ok (completed), n_error, n_timeout,
-- n_cancelled. Token totals over completed (status 'ok') requests: output_tokens =
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
-- The `counted_requests` CTE is where warm-up / cool-down trimming will select requests.
create or replace view run_throughput as
with
counted_requests as (
  select * from request_metrics
),
per_run as (
  select
    run_id,
    count(*) as n_total,
    count(*) filter (where status = 'ok') as n_ok,
    count(*) filter (where status = 'error') as n_error,
    count(*) filter (where status = 'timeout') as n_timeout,
    count(*) filter (where status = 'cancelled') as n_cancelled,
    coalesce(sum(n_output_tokens) filter (where status = 'ok'), 0)::bigint as output_tokens,
    coalesce(sum(n_input_tokens) filter (where status = 'ok'), 0)::bigint as input_tokens
  from counted_requests
  group by run_id
),
token_bins as (
  select
    e.run_id,
    (e.t_ns - w.window_start_ns) // 1000000000 as bin_index,
    sum(e.n_tokens) as bin_tokens
  from token_bearing_events as e
  join run_window as w on w.run_id = e.run_id
  where e.status = 'ok' and e.t_ns between w.window_start_ns and w.window_end_ns
  group by e.run_id, bin_index
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
  output_tokens,
  input_tokens,
  n_ok * 1e9 / rate_denominator_ns as request_throughput_rps,
  output_tokens * 1e9 / rate_denominator_ns as output_tokens_per_s,
  (input_tokens + output_tokens) * 1e9 / rate_denominator_ns as total_tokens_per_s,
  max_bin_tokens::double as max_output_tokens_per_s_1s_bin
from joined
