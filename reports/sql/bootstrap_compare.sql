-- bootstrap_compare(baseline_run_id, candidate_run_id, ttft_ms_max, tpot_ms_max, e2e_ms_max,
-- itl_ms_max := NULL, failure_policy := ..., replicates := 200, seed := 0, max_samples := 5000):
-- candidate minus baseline for p50 / p99 of each latency metric and for goodput, with bootstrap
-- 95 % confidence intervals over the requests of ONE run per side (docs/METRICS.md: "Comparisons
-- carry bootstrap confidence intervals"). Such an interval covers within-run sampling only,
-- not the variation between runs, so it is optimistic: compare groups of repeated runs with
-- between_run_compare instead when there are any.
--
-- Grain: one row per (metric, statistic): (ttft_ms|tpot_ms|itl_ms|e2e_ms, p50|p99) and
-- (goodput_rps, value); key (metric, statistic); sort by row_order.
--
-- Point estimates use every sample: baseline_value / candidate_value are quantile_cont of
-- metric_samples (the numbers of run_latency_summary) and, for goodput, slo_attainment's
-- goodput_rps (met / window_s) under the given SLO and failure policy.
--   delta = candidate_value - baseline_value;  delta_pct = 100 * delta / baseline_value
-- Replicates: each side is resampled independently, `replicates` times, with replacement, to
-- its own size; goodput resamples the counted requests (met = 1, else 0) over the fixed window:
-- goodput*_b = SUM(met*) / window_s. Reproducible: draws are hash(seed, side, metric, b, j) mod
-- size, not random(). A side with more than max_samples samples is first thinned to about
-- max_samples by a fixed hash of sample_key (the point estimate still uses all); n_* report the
-- full counts.
-- Interval (normal approximation around the point estimate, so the estimate is always inside):
--   scale 'log_ratio' when both point values and every replicate value are > 0:
--     [exp(ln(c/b) - 1.96 sd), exp(ln(c/b) + 1.96 sd)] - 1, in percent of b, where sd is the
--     standard deviation of ln(c*_b / b*_b) over the replicates: a ratio, so > -100 %;
--   scale 'difference' otherwise: delta -+ 1.96 sd(c*_b - b*_b), the low end clamped at
--     -baseline_value when both sides are >= 0 (nothing falls by more than all of it).
-- (A percentile interval can exclude its own point estimate when the statistic's bootstrap
-- distribution is skewed, e.g. a p50 ITL over many 0 ms gaps.)
-- significant = the interval excludes 0 (the change is outside the noise).
--
-- Edge cases: a side without samples (or without a window, for goodput) gives NULL values,
-- deltas and interval, and significant NULL; a baseline value of 0 gives NULL percentages.
create or replace macro bootstrap_compare(
  baseline_run_id,
  candidate_run_id,
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded',
  replicates := 200,
  seed := 0,
  max_samples := 5000
)
as table
with
sides (side, run_id) as (
  values ('baseline', baseline_run_id::varchar), ('candidate', candidate_run_id::varchar)
),
wanted (row_order, metric, statistic, level) as (
  values
    (1, 'ttft_ms', 'p50', 0.5), (2, 'ttft_ms', 'p99', 0.99),
    (3, 'tpot_ms', 'p50', 0.5), (4, 'tpot_ms', 'p99', 0.99),
    (5, 'itl_ms', 'p50', 0.5), (6, 'itl_ms', 'p99', 0.99),
    (7, 'e2e_ms', 'p50', 0.5), (8, 'e2e_ms', 'p99', 0.99),
    (9, 'goodput_rps', 'value', null)
),
latency as (
  select s.side, m.metric, m.sample_key, m.value_ms as value
  from metric_samples as m
  join sides as s on s.run_id = m.run_id
),
latency_sizes as (
  select side, metric, count(*) as n,
    quantile_cont(value, [0.5, 0.99]) as q
  from latency
  group by side, metric
),
thinned as (
  -- about max_samples samples per group, chosen by a fixed hash (all when n <= max_samples)
  select l.side, l.metric, l.value,
    row_number() over (partition by l.side, l.metric order by l.sample_key, l.value) - 1 as pos
  from latency as l
  join latency_sizes as z on z.side = l.side and z.metric = l.metric
  where z.n <= max_samples or hash(seed, l.sample_key) % z.n::ubigint < max_samples
),
goodput_judged as (
  select s.side, d.req_id, case when d.meets_slo then 1.0 else 0.0 end as value
  from request_slo(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  ) as d
  join sides as s on s.run_id = d.run_id
  where d.counted
),
goodput_point as (
  select s.side, a.goodput_rps, a.window_s, a.n_counted
  from slo_attainment(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  ) as a
  join sides as s on s.run_id = a.run_id
),
goodput_thinned as (
  select g.side, 'goodput_rps' as metric, g.value / p.window_s as value,
    row_number() over (partition by g.side order by hash(g.req_id), g.req_id) - 1 as pos
  from goodput_judged as g
  join goodput_point as p on p.side = g.side
  where p.window_s > 0
),
pool as (
  select side, metric, value, pos from thinned
  union all
  select side, metric, value, pos from goodput_thinned
),
pool_sizes as (
  select side, metric, count(*) as m from pool group by side, metric
),
draws as (
  select side, metric, b, (hash(seed, side, metric, b, j) % m::ubigint)::bigint as pos
  from (
    select side, metric, m, unnest(range(replicates)) as b from pool_sizes
  ) as per_replicate
  cross join lateral (select unnest(range(per_replicate.m)) as j) as t
),
replicate_values as (
  select d.side, d.metric, d.b,
    quantile_cont(p.value, 0.5) as p50,
    quantile_cont(p.value, 0.99) as p99,
    sum(p.value) as total
  from draws as d
  join pool as p on p.side = d.side and p.metric = d.metric and p.pos = d.pos
  group by d.side, d.metric, d.b
),
replicate_stats as (
  select side, metric, b, 'p50' as statistic, p50 as value from replicate_values
  where metric <> 'goodput_rps'
  union all
  select side, metric, b, 'p99', p99 from replicate_values where metric <> 'goodput_rps'
  union all
  select side, metric, b, 'value', total from replicate_values where metric = 'goodput_rps'
),
points as (
  select side, metric, 'p50' as statistic, q[1] as value, n from latency_sizes
  union all
  select side, metric, 'p99', q[2], n from latency_sizes
  union all
  select side, 'goodput_rps', 'value', goodput_rps, n_counted from goodput_point
),
replicate_pairs as (
  select c.metric, c.statistic, c.b, c.value as c_value, b.value as b_value
  from replicate_stats as c
  join replicate_stats as b
    on b.metric = c.metric and b.statistic = c.statistic and b.b = c.b
  where c.side = 'candidate' and b.side = 'baseline'
),
intervals as (
  select
    metric,
    statistic,
    count(*) as n_replicates,
    coalesce(bool_and(c_value > 0 and b_value > 0), false) as replicates_positive,
    -- ordered aggregates add in replicate order, so the same seed gives the same bits
    stddev_samp(case when c_value > 0 and b_value > 0 then ln(c_value / b_value) end
      order by b) as sd_log_ratio,
    stddev_samp(c_value - b_value order by b) as sd_delta
  from replicate_pairs
  group by metric, statistic
),
assembled as (
  select
    w.row_order,
    w.metric,
    w.statistic,
    pb.value as baseline_value,
    pc.value as candidate_value,
    coalesce(pb.n, 0) as n_baseline,
    coalesce(pc.n, 0) as n_candidate,
    pb.value > 0 and pc.value > 0 and coalesce(i.replicates_positive, false) as on_log,
    pb.value >= 0 and pc.value >= 0 as non_negative,
    i.sd_log_ratio,
    i.sd_delta,
    coalesce(i.n_replicates, 0) as n_replicates
  from wanted as w
  left join points as pb on pb.side = 'baseline' and pb.metric = w.metric
    and pb.statistic = w.statistic
  left join points as pc on pc.side = 'candidate' and pc.metric = w.metric
    and pc.statistic = w.statistic
  left join intervals as i on i.metric = w.metric and i.statistic = w.statistic
),
bounded as (
  select
    *,
    case
      when baseline_value is null or candidate_value is null then null
      when on_log then baseline_value
        * (exp(ln(candidate_value / baseline_value) - 1.96 * coalesce(sd_log_ratio, 0)) - 1)
      when non_negative then greatest(
        candidate_value - baseline_value - 1.96 * coalesce(sd_delta, 0), -baseline_value)
      else candidate_value - baseline_value - 1.96 * coalesce(sd_delta, 0)
    end as ci_low,
    case
      when baseline_value is null or candidate_value is null then null
      when on_log then baseline_value
        * (exp(ln(candidate_value / baseline_value) + 1.96 * coalesce(sd_log_ratio, 0)) - 1)
      else candidate_value - baseline_value + 1.96 * coalesce(sd_delta, 0)
    end as ci_high
  from assembled
)
select
  row_order,
  metric,
  statistic,
  n_baseline,
  n_candidate,
  baseline_value,
  candidate_value,
  candidate_value - baseline_value as delta,
  100 * (candidate_value - baseline_value) / nullif(baseline_value, 0) as delta_pct,
  ci_low,
  ci_high,
  100 * ci_low / nullif(baseline_value, 0) as ci_low_pct,
  100 * ci_high / nullif(baseline_value, 0) as ci_high_pct,
  case when ci_low is null then null else ci_low > 0 or ci_high < 0 end as significant,
  n_replicates,
  case when on_log then 'log_ratio' else 'difference' end as scale,
  'bootstrap over requests of one run per side, normal interval, 95 %; within-run sampling '
    || 'only (optimistic)' as ci_method,
  failure_policy_name(failure_policy) as failure_policy
from bounded
