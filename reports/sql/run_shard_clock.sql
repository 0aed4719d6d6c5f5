-- run_shard_clock: how far apart the clocks of a sharded run's shards may have been when they
-- started (`run --shard i/N --start-at t`, joined by `tokentrace merge`). A merged run puts
-- every shard's plan start at the same instant; this is how wrong that instant may be.
--
-- Grain: one row per run that has rows in run_shards (a merged run: one per shard it joined; a
-- shard's own database: its one row); key run_id.
--
-- Each shard placed the shared start on its run clock by a reading of its host clock
-- (harness/host_clock.ts). Two shards i and j may then have started apart by at most
--   u_i + u_j            the two readings' uncertainties (host_clock_uncertainty_ns)
--   + |d_i| + |d_j|      each run clock's drift from its host clock by the run's end
--                        (host_clock_drift_ns): how far apart they may be at the end too
--   + e_i + e_j          when on different clocks (host_clock_id differs or is unknown): the
--                        kernel's estimated error of each host clock (adjtimex esterror); shards
--                        of one machine read one clock, whose own error they share (+ 0)
-- Columns: shards (rows), shard_count (N stated by the shards), clocks (distinct known
--   host_clock_id), start_uncertainty_max_ms = max u, drift_max_ms = max |d|,
--   sync_error_ms = max e_i + e_j over pairs on different clocks (0 when none are),
--   lead_min_ms = the shortest time a shard was ready before the start (how close it came to
--   missing it), clock_disagreement_ms = max over pairs i < j of the sum above.
-- Edge cases: one shard -> no pair -> clock_disagreement_ms and sync_error_ms NULL; a pair
-- with an unknown drift, or on different clocks with an unknown estimated error, makes its
-- sum unknown, and then the maximum is NULL (unknown), never the maximum of the known ones.
create or replace view run_shard_clock as
with
shard_terms as (
  select
    run_id,
    shard_index,
    shard_count,
    host_clock_id,
    lead_ns,
    host_clock_uncertainty_ns / 1e6 as u_ms,
    abs(host_clock_drift_ns) / 1e6 as d_ms,
    host_clock_est_error_ns / 1e6 as e_ms
  from run_shards
),
pairs as (
  select
    a.run_id,
    a.host_clock_id is null or b.host_clock_id is null
      or a.host_clock_id <> b.host_clock_id as other_clock,
    a.u_ms + b.u_ms + a.d_ms + b.d_ms as local_ms,
    a.e_ms + b.e_ms as sync_ms
  from shard_terms as a
  join shard_terms as b on b.run_id = a.run_id and b.shard_index > a.shard_index
),
pair_sums as (
  select
    run_id,
    other_clock,
    sync_ms,
    local_ms + case when other_clock then sync_ms else 0 end as sum_ms
  from pairs
),
by_run_pairs as (
  select
    run_id,
    case when count(*) filter (where sum_ms is null) > 0 then null else max(sum_ms) end
      as clock_disagreement_ms,
    case
      when count(*) filter (where other_clock and sync_ms is null) > 0 then null
      else coalesce(max(sync_ms) filter (where other_clock), 0)
    end as sync_error_ms
  from pair_sums
  group by run_id
),
by_run as (
  select
    run_id,
    count(*) as shards,
    max(shard_count) as shard_count,
    count(distinct host_clock_id) as clocks,
    max(u_ms) as start_uncertainty_max_ms,
    max(d_ms) as drift_max_ms,
    min(lead_ns) / 1e6 as lead_min_ms
  from shard_terms
  group by run_id
)
select
  r.run_id,
  r.shards,
  r.shard_count,
  r.clocks,
  r.start_uncertainty_max_ms,
  r.drift_max_ms,
  p.sync_error_ms,
  r.lead_min_ms,
  p.clock_disagreement_ms
from by_run as r
left join by_run_pairs as p on p.run_id = r.run_id
