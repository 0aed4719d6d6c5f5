-- between_run_compare(baseline_run_ids, candidate_run_ids, ttft_ms_max, tpot_ms_max, e2e_ms_max,
-- itl_ms_max := NULL, failure_policy := ...): candidate group minus baseline group for each
-- statistic of run_statistics, with a 95 % confidence interval from the variation BETWEEN runs
-- (a group = repeated runs of one configuration, `tokentrace run --repeat N`).
--
-- Grain: one row per (metric, statistic) of run_statistics (9 rows); key (metric, statistic);
-- sort by row_order. The run id lists are VARCHAR[]; a run without a value for a statistic
-- (e.g. no TPOT sample) is left out of that statistic (runs_* say how many counted).
--
-- Effect: each run contributes one value x (its p50, p99 or goodput). When every value of both
-- sides is > 0 the comparison is on the log scale (scale = 'log_ratio'):
--   baseline_value = exp(mean(ln x_b)), candidate_value = exp(mean(ln x_c))  (geometric means)
--   d = mean(ln x_c) - mean(ln x_b);   delta_pct = 100 * (exp(d) - 1)
-- otherwise (a 0, e.g. goodput 0 or a p50 ITL of 0 ms) on the difference scale
-- (scale = 'difference'): baseline_value = mean(x_b), d = delta = mean(x_c) - mean(x_b).
-- Interval: d +- t * se, with s2_* the sample variances (var_samp) on that scale and k_* the
-- runs:
--   k_b >= 2 and k_c >= 2: se^2 = s2_b / k_b + s2_c / k_c, Welch-Satterthwaite degrees of
--     freedom df = se^4 / ((s2_b/k_b)^2/(k_b-1) + (s2_c/k_c)^2/(k_c-1))  (k_b + k_c - 2 when se = 0)
--   one side has 1 run: the other side's variance stands for both (equal spread assumed),
--     se^2 = s2 * (1/k_b + 1/k_c), df = k - 1 of the other side
--   both sides 1 run: no interval here (NULL); use bootstrap_compare (within-run sampling only)
-- t = the 0.975 quantile of Student's t at the largest tabulated df <= df (rounding df down
-- makes the interval wider, never narrower). Log-scale bounds are exp(d -+ t*se): a ratio,
-- so ci_low_pct > -100 always. Difference-scale bounds of non-negative values are clamped at
-- ci_low >= -baseline_value (a non-negative statistic cannot fall by more than all of it).
-- Both keep the point estimate inside its interval: ci_low <= delta <= ci_high.
--   significant = the interval excludes 0 (NULL without an interval)
-- n_* are the samples summed over the side's runs; runs_* the runs with a value.
--
-- Edge cases: a side without any value gives NULL values, deltas and interval; a baseline
-- value of 0 gives NULL percentages.
create or replace macro between_run_compare(
  baseline_run_ids,
  candidate_run_ids,
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded'
)
as table
with
sides as (
  select 'baseline' as side, unnest(baseline_run_ids::varchar[]) as run_id
  union all
  select 'candidate', unnest(candidate_run_ids::varchar[])
),
t_quantiles_raw (df_from, df_to, t975) as (
  values
    (1, 2, 12.706), (2, 3, 4.303), (3, 4, 3.182), (4, 5, 2.776), (5, 6, 2.571),
    (6, 7, 2.447), (7, 8, 2.365), (8, 9, 2.306), (9, 10, 2.262), (10, 11, 2.228),
    (11, 12, 2.201), (12, 13, 2.179), (13, 14, 2.160), (14, 15, 2.145), (15, 16, 2.131),
    (16, 17, 2.120), (17, 18, 2.110), (18, 19, 2.101), (19, 20, 2.093), (20, 21, 2.086),
    (21, 22, 2.080), (22, 23, 2.074), (23, 24, 2.069), (24, 25, 2.064), (25, 26, 2.060),
    (26, 27, 2.056), (27, 28, 2.052), (28, 29, 2.048), (29, 30, 2.045), (30, 40, 2.042),
    (40, 60, 2.021), (60, 120, 2.000), (120, 1e308, 1.980)
),
t_quantiles as (
  select df_from::double as df_from, df_to::double as df_to, t975::double as t975
  from t_quantiles_raw
),
wanted as (
  select distinct row_order, metric, statistic
  from run_statistics(null, null, null)
),
per_run as (
  select s.side, r.run_id, r.row_order, r.metric, r.statistic, r.value, r.n
  from run_statistics(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  ) as r
  join sides as s on s.run_id = r.run_id
),
side_stats as (
  select
    side,
    row_order,
    metric,
    statistic,
    count(value) as k,
    coalesce(sum(n) filter (where value is not null), 0)::bigint as n,
    -- ordered aggregates add in run order: the same runs give the same bits
    avg(value order by run_id) as mean_value,
    coalesce(var_samp(value order by run_id), 0) as var_value,
    coalesce(bool_and(value > 0), false) as all_positive,
    coalesce(bool_and(value >= 0), false) as all_non_negative,
    avg(case when value > 0 then ln(value) end order by run_id) as mean_log,
    coalesce(var_samp(case when value > 0 then ln(value) end order by run_id), 0) as var_log
  from per_run
  group by side, row_order, metric, statistic
),
paired as (
  select
    w.row_order,
    w.metric,
    w.statistic,
    coalesce(b.k, 0) as k_b,
    coalesce(c.k, 0) as k_c,
    coalesce(b.n, 0) as n_b,
    coalesce(c.n, 0) as n_c,
    coalesce(b.all_positive and c.all_positive, false) as on_log,
    coalesce(b.all_non_negative and c.all_non_negative, false) as non_negative,
    b.mean_value as mean_b,
    c.mean_value as mean_c,
    case when b.all_positive and c.all_positive then b.mean_log else b.mean_value end as est_b,
    case when b.all_positive and c.all_positive then c.mean_log else c.mean_value end as est_c,
    case when b.all_positive and c.all_positive then b.var_log else b.var_value end as s2_b,
    case when b.all_positive and c.all_positive then c.var_log else c.var_value end as s2_c
  from wanted as w
  left join side_stats as b on b.row_order = w.row_order and b.side = 'baseline'
  left join side_stats as c on c.row_order = w.row_order and c.side = 'candidate'
),
spread as (
  select
    *,
    case
      when k_b >= 2 and k_c >= 2 then s2_b / k_b + s2_c / k_c
      when k_b = 1 and k_c >= 2 then s2_c * (1.0 / k_b + 1.0 / k_c)
      when k_c = 1 and k_b >= 2 then s2_b * (1.0 / k_b + 1.0 / k_c)
    end as se2,
    case
      when k_b >= 2 and k_c >= 2 then
        case
          when s2_b / k_b + s2_c / k_c = 0 then (k_b + k_c - 2)::double
          else pow(s2_b / k_b + s2_c / k_c, 2)
            / (pow(s2_b / k_b, 2) / (k_b - 1) + pow(s2_c / k_c, 2) / (k_c - 1))
        end
      when k_b = 1 and k_c >= 2 then (k_c - 1)::double
      when k_c = 1 and k_b >= 2 then (k_b - 1)::double
    end as df
  from paired
),
bounded as (
  select
    s.*,
    t.t975,
    est_c - est_b as d,
    t.t975 * sqrt(s.se2) as half
  from spread as s
  left join t_quantiles as t on s.df >= t.df_from and s.df < t.df_to
),
scaled as (
  select
    row_order,
    metric,
    statistic,
    k_b,
    k_c,
    n_b,
    n_c,
    case when on_log then 'log_ratio' else 'difference' end as scale,
    df,
    t975,
    case when k_b > 0 then case when on_log then exp(est_b) else mean_b end end
      as baseline_value,
    case when k_c > 0 then case when on_log then exp(est_c) else mean_c end end
      as candidate_value,
    case
      when half is null or k_b = 0 or k_c = 0 then null
      when on_log then exp(est_b) * (exp(d - half) - 1)
      when non_negative then greatest(d - half, -mean_b)
      else d - half
    end as ci_low,
    case
      when half is null or k_b = 0 or k_c = 0 then null
      when on_log then exp(est_b) * (exp(d + half) - 1)
      else d + half
    end as ci_high
  from bounded
)
select
  row_order,
  metric,
  statistic,
  n_b as n_baseline,
  n_c as n_candidate,
  k_b as runs_baseline,
  k_c as runs_candidate,
  baseline_value,
  candidate_value,
  candidate_value - baseline_value as delta,
  100 * (candidate_value - baseline_value) / nullif(baseline_value, 0) as delta_pct,
  ci_low,
  ci_high,
  100 * ci_low / nullif(baseline_value, 0) as ci_low_pct,
  100 * ci_high / nullif(baseline_value, 0) as ci_high_pct,
  case when ci_low is null then null else ci_low > 0 or ci_high < 0 end as significant,
  scale,
  df,
  t975 as t_quantile,
  't interval (Welch) over per-run values, 95 %, between-run variation' as ci_method,
  failure_policy_name(failure_policy) as failure_policy
from scaled
