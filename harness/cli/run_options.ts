/**
 * The options record of a run (`runs.options`): what `run` was configured with, as JSON, built
 * in one place from the validated {@linkcode RunConfig}. Its keys are fixed here (a test pins
 * them): comparisons read it (reports/results/like_with_like.ts flattens it into settings), so a key
 * must not appear or vanish by accident when the config type changes, and the JSON report shows
 * it (`config.options`). The SLO and failure policy are also typed columns of `runs`
 * (`slo_*_ms`, `slo_failure_policy`, schema version 10), which is where readers take them from.
 *
 * @module
 */
import type { RunConfig } from "./run_config.ts";

/** Fields a suite scenario adds to its runs' options (read back by `compare --suite`). */
export interface SuiteOptionFields {
  /** The scenario's gate spec, or null. */
  suiteGates?: string | null;
  /** The scenario's failure policy as written in the suite file, or null. */
  suiteFailurePolicy?: string | null;
}

/** The keys of the options record, in the order they are written. */
export const RUN_OPTION_KEYS = [
  "trace",
  "workload",
  "tokenizer",
  "allowApproximate",
  "format",
  "backend",
  "engine",
  "url",
  "api",
  "model",
  "endpointKind",
  "apiKeyEnv",
  "transport",
  "sockets",
  "timeoutMs",
  "speedup",
  "window",
  "maxRequests",
  "prompt",
  "vocabSize",
  "fitContext",
  "db",
  "allowForeignDb",
  "label",
  "slo",
  "failurePolicy",
  "json",
  "quiet",
  "warmupS",
  "cooldownS",
  "grouping",
  "repeat",
  "maxErrorRate",
  "summary",
  "shard",
  "startAtUnixNs",
  "load",
  "timeouts",
  "workers",
  "pacingPriority",
  "suiteGates",
  "suiteFailurePolicy",
] as const satisfies readonly (keyof (RunConfig & SuiteOptionFields))[];

// Every field of RunConfig is recorded: a new field fails to compile here until it is listed.
type Unlisted = Exclude<keyof RunConfig, (typeof RUN_OPTION_KEYS)[number]>;
const _everyFieldListed: [Unlisted] extends [never] ? true : Unlisted = true;

/** The options record of a run, one key per {@linkcode RUN_OPTION_KEYS} entry that is set. */
export type RunOptionsRecord = Partial<
  Record<(typeof RUN_OPTION_KEYS)[number], unknown>
>;

/**
 * Builds `runs.options` from a run's config: the keys of {@linkcode RUN_OPTION_KEYS} whose value
 * is set, in that order; functions (start hooks) and anything else are left out.
 *
 * @example
 * ```ts
 * import { runOptionsRecord } from "./run_options.ts";
 * import { parseRunConfig } from "./run_config.ts";
 * const cfg = parseRunConfig({ trace: "t.csv", backend: "openai", url: "http://x", api: "completions",
 *   endpointKind: "auto", timeout: "60", speedup: "1", prompt: "ids", db: "r.duckdb" });
 * console.log(Object.keys(runOptionsRecord(cfg)).slice(0, 3)); // [ "trace", "workload", "allowApproximate" ]
 * ```
 */
export function runOptionsRecord(
  cfg: RunConfig & SuiteOptionFields,
): RunOptionsRecord {
  const out: RunOptionsRecord = {};
  for (const k of RUN_OPTION_KEYS) {
    const v = cfg[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
