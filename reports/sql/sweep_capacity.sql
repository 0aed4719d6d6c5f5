-- sweep_capacity(target_attainment, ttft_ms_max, tpot_ms_max, e2e_ms_max, itl_ms_max := NULL,
-- failure_policy := ..., gpus := 1): DistServe's goodput, the highest request rate (load_rps) at
-- which SLO attainment stays >= target_attainment, per sweep (docs/METRICS.md "Goodput (capacity
-- form)").
--
-- Grain: one row per sweep_id that has at least one point; key sweep_id.
-- Parameters: target_attainment as a fraction (0.9 for 90 %); the SLO and failure policy as
-- sweep_attainment; gpus divides the capacity for capacity_rps_per_gpu.
--
-- Definition: points = sweep_attainment rows with load_rps and attainment not NULL, in order
-- of load_rps (the offered rate; the achieved throughput for a concurrency sweep). upper = the
-- first point whose attainment < target; lower = the point before it.
--   capacity_bound = 'interpolated': capacity_rps = lower.rps + (lower.att - target) /
--                    (lower.att - upper.att) * (upper.rps - lower.rps)  (linear between the
--                    bracketing points; equals lower.rps when lower.att = target)
--                    'at_least_highest_rate': no point fell below target; capacity_rps is the
--                    highest offered rate measured (a lower bound: sweep further)
--                    'below_lowest_rate': the lowest rate already misses; capacity_rps NULL
--                    'no_points': no point with both values; capacity_rps NULL
-- The first crossing is used, so a noisy curve that recovers above target at a higher rate does
-- not raise the capacity (the conservative reading).
--
-- Columns: sweep_id, target_attainment, n_points, capacity_rps, capacity_rps_per_gpu, gpus,
-- capacity_bound, lower_load_rps, lower_attainment, upper_load_rps, upper_attainment.
create or replace macro sweep_capacity(
  target_attainment,
  ttft_ms_max,
  tpot_ms_max,
  e2e_ms_max,
  itl_ms_max := null,
  failure_policy := 'errors_and_timeouts_count_as_missed;cancelled_excluded',
  gpus := 1
)
as table
with
curve as (
  select sweep_id, load_rps, attainment
  from sweep_attainment(
    ttft_ms_max, tpot_ms_max, e2e_ms_max,
    itl_ms_max := itl_ms_max, failure_policy := failure_policy
  )
),
sweep_ids as (
  select distinct sweep_id from curve
),
valid as (
  select
    sweep_id, load_rps, attainment,
    row_number() over (partition by sweep_id order by load_rps, attainment desc) as k
  from curve
  where load_rps is not null and attainment is not null
),
first_miss as (
  select sweep_id, min(k) as k
  from valid
  where attainment < target_attainment
  group by sweep_id
),
summary as (
  select
    s.sweep_id,
    (select count(*) from valid as v where v.sweep_id = s.sweep_id) as n_points,
    f.k as miss_k,
    (select max(load_rps) from valid as v where v.sweep_id = s.sweep_id) as max_rps
  from sweep_ids as s
  left join first_miss as f on f.sweep_id = s.sweep_id
),
bracketed as (
  select
    s.sweep_id,
    s.n_points,
    s.max_rps,
    s.miss_k,
    lo.load_rps as lower_load_rps,
    lo.attainment as lower_attainment,
    hi.load_rps as upper_load_rps,
    hi.attainment as upper_attainment
  from summary as s
  left join valid as hi on hi.sweep_id = s.sweep_id and hi.k = s.miss_k
  left join valid as lo on lo.sweep_id = s.sweep_id and lo.k = s.miss_k - 1
),
decided as (
  select
    *,
    case
      when n_points = 0 then 'no_points'
      when miss_k is null then 'at_least_highest_rate'
      when miss_k = 1 then 'below_lowest_rate'
      else 'interpolated'
    end as capacity_bound
  from bracketed
),
computed as (
  select
    *,
    case capacity_bound
      when 'at_least_highest_rate' then max_rps
      when 'interpolated' then lower_load_rps
        + (lower_attainment - target_attainment::double)
          / (lower_attainment - upper_attainment)
          * (upper_load_rps - lower_load_rps)
    end as capacity_rps
  from decided
)
select
  sweep_id,
  target_attainment::double as target_attainment,
  n_points,
  capacity_rps,
  capacity_rps / gpus::double as capacity_rps_per_gpu,
  gpus::integer as gpus,
  capacity_bound,
  lower_load_rps,
  lower_attainment,
  upper_load_rps,
  upper_attainment
from computed
