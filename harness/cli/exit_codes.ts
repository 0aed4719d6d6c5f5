/**
 * The exit statuses of `tokentrace`, in one place: what a script or CI job can rely on.
 *
 * @module
 */
import { USAGE_EXIT_CODE } from "../../workloads/base/usage_error.ts";

/**
 * Exit statuses: `ok` 0; `failed` 1 (the command ran and its answer is "no": a gate failed, no
 * request succeeded, or an unexpected error); `usage` 2 (bad flags or input: every
 * `UsageError`); `sigint` 130 and `sigterm` 143 (a run stopped by the signal, 128 + its number).
 *
 * @example
 * ```ts
 * import { EXIT } from "./exit_codes.ts";
 * console.log(EXIT.usage, EXIT.sigint); // 2 130
 * ```
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: USAGE_EXIT_CODE,
  sigint: 130,
  sigterm: 143,
} as const;

/** The exit status a stopping signal gives. */
export function signalExitCode(signal: "SIGINT" | "SIGTERM"): number {
  return signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm;
}
