-- failure_policy_name(p): validates a failure policy name and returns it (docs/METRICS.md "Failure
-- policy is explicit and recorded"); an unknown name raises an error naming it and the choices.
--
-- Grain: a scalar macro (one value per call).
--
-- Policies (request_slo applies them; every report states the one used):
--   'errors_and_timeouts_count_as_missed;cancelled_excluded'  the default (as GuideLLM): errored
--        and timed-out requests are counted and missed; cancelled-by-design ones are excluded
--   'errors_and_timeouts_excluded;cancelled_excluded'         only completed requests are judged
--   'all_failures_count_as_missed'                            cancelled requests are missed too
--
-- Edge cases: NULL is unknown (an error), so a policy is never silently defaulted in SQL.
create or replace macro failure_policy_name(p) as
  case
    when p in (
      'errors_and_timeouts_count_as_missed;cancelled_excluded',
      'errors_and_timeouts_excluded;cancelled_excluded',
      'all_failures_count_as_missed'
    ) then p::varchar
    else error(
      'Unknown failure_policy "' || coalesce(p::varchar, 'NULL') ||
      '": expected errors_and_timeouts_count_as_missed;cancelled_excluded, ' ||
      'errors_and_timeouts_excluded;cancelled_excluded or all_failures_count_as_missed'
    )
  end
