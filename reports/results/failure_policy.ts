/**
 * SLO failure policies: which requests count toward attainment (docs/METRICS.md "Failure policy is
 * explicit and recorded"). The decision itself lives in `reports/sql/request_slo.sql`; this
 * module maps flag words to the SQL names and describes them in words.
 *
 * @module
 */

/** The failure policies `request_slo` accepts, by their SQL names. */
export type FailurePolicy =
  | "errors_and_timeouts_count_as_missed;cancelled_excluded"
  | "errors_and_timeouts_excluded;cancelled_excluded"
  | "all_failures_count_as_missed";

/** The default policy (docs/METRICS.md; as GuideLLM). */
export const DEFAULT_FAILURE_POLICY: FailurePolicy =
  "errors_and_timeouts_count_as_missed;cancelled_excluded";

/** Flag words (`--failure-policy`) and the policy each names. */
export const FAILURE_POLICY_FLAGS: Readonly<Record<string, FailurePolicy>> = {
  "count-errors": "errors_and_timeouts_count_as_missed;cancelled_excluded",
  "exclude-errors": "errors_and_timeouts_excluded;cancelled_excluded",
  "count-all": "all_failures_count_as_missed",
};

const TEXT: Record<FailurePolicy, string> = {
  "errors_and_timeouts_count_as_missed;cancelled_excluded":
    "errored and timed-out requests count as not meeting the SLO; cancelled requests are excluded",
  "errors_and_timeouts_excluded;cancelled_excluded":
    "only completed requests are judged: errored, timed-out and cancelled requests are excluded",
  "all_failures_count_as_missed":
    "errored, timed-out and cancelled requests all count as not meeting the SLO",
};

/**
 * Parses a `--failure-policy` value: a flag word (`count-errors`, `exclude-errors`,
 * `count-all`) or a policy's SQL name. Errors name the flag, the value and the choices.
 *
 * @example
 * ```ts
 * import { parseFailurePolicy } from "./failure_policy.ts";
 * console.log(parseFailurePolicy("exclude-errors")); // errors_and_timeouts_excluded;cancelled_excluded
 * ```
 */
export function parseFailurePolicy(value: string): FailurePolicy {
  const byFlag = FAILURE_POLICY_FLAGS[value];
  if (byFlag !== undefined) return byFlag;
  if (Object.hasOwn(TEXT, value)) return value as FailurePolicy;
  throw new Error(
    `Invalid --failure-policy "${value}": expected one of ${
      Object.keys(FAILURE_POLICY_FLAGS).join(", ")
    }`,
  );
}

/**
 * The policy in words, for reports; an unknown name is returned as is.
 *
 * @example
 * ```ts
 * import { describeFailurePolicy } from "./failure_policy.ts";
 * console.log(describeFailurePolicy("all_failures_count_as_missed"));
 * ```
 */
export function describeFailurePolicy(policy: string): string {
  return TEXT[policy as FailurePolicy] ?? policy;
}
