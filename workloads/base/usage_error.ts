/**
 * Errors that mean "the input is wrong, not the program": a bad flag, a bad trace row, a
 * workload that does not exist, a prompt that cannot be made. The CLI prints their message and
 * exits with {@linkcode UsageError.exitCode} (2) instead of 1. The family lives in the bottom
 * layer (`workloads/` imports nothing else) so that every layer can throw one.
 *
 * @module
 */

/** The exit status of a usage error (bad flags or bad input), as POSIX tools use it. */
export const USAGE_EXIT_CODE = 2;

/**
 * Bad input from the user: a message that says what, where, the value seen and what to do.
 * Subclasses name the kind of input (`FlagError`, `TraceError`, ...); the CLI exits with
 * `exitCode` for every one of them.
 *
 * @example
 * ```ts
 * import { UsageError } from "./usage_error.ts";
 * class ColumnError extends UsageError {}
 * const e = new ColumnError('Column "ts": expected seconds, got "noon"');
 * console.log(e instanceof UsageError, e.exitCode, e.name); // true 2 ColumnError
 * ```
 */
export class UsageError extends Error {
  /** The process exit status the CLI ends with for this error. */
  readonly exitCode: number = USAGE_EXIT_CODE;

  /** A usage error with `message` (what, where, the value seen, what to do). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
