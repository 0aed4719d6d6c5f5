/**
 * Parsing of single CLI flag values; every error names the flag, the value and what is expected.
 *
 * @module
 */
import { UsageError } from "../../workloads/base/usage_error.ts";

/** A bad flag value. The CLI prints its message and exits with status 2 (a usage error). */
export class FlagError extends UsageError {
  constructor(flag: string, value: unknown, expected: string) {
    super(`Option ${flag}: expected ${expected}, got ${JSON.stringify(value)}`);
    this.name = "FlagError";
  }
}

/** A bad flag value whose parser wrote its own message (exit status 2, like FlagError). */
class FlagValueError extends FlagError {
  constructor(message: string) {
    super("", "", "");
    this.message = message;
  }
}

/**
 * Runs a flag parser; its errors become flag errors (exit status 2).
 *
 * @example
 * ```ts
 * import { asFlagError, FlagError } from "./flags.ts";
 * try {
 *   asFlagError(() => { throw new Error("Invalid --slo \"x\""); });
 * } catch (e) {
 *   console.log(e instanceof FlagError, (e as Error).message); // true Invalid --slo "x"
 * }
 * ```
 */
export function asFlagError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FlagError) throw e;
    throw new FlagValueError((e as Error).message);
  }
}

/**
 * Parses a finite number > 0.
 *
 * @example
 * ```ts
 * import { positiveNumber } from "./flags.ts";
 * console.log(positiveNumber("--speedup", "2.5")); // 2.5
 * ```
 */
export function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new FlagError(flag, value, "a number > 0");
  }
  return n;
}

/**
 * Parses an integer >= `min`.
 *
 * @example
 * ```ts
 * import { integerAtLeast } from "./flags.ts";
 * console.log(integerAtLeast("--max-requests", "200", 1)); // 200
 * ```
 */
export function integerAtLeast(
  flag: string,
  value: string,
  min: number,
): number {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new FlagError(flag, value, `an integer >= ${min}`);
  }
  return n;
}

/**
 * Parses one of a fixed set of words.
 *
 * @example
 * ```ts
 * import { oneOf } from "./flags.ts";
 * console.log(oneOf("--api", "chat", ["completions", "chat"] as const)); // chat
 * ```
 */
export function oneOf<T extends string>(
  flag: string,
  value: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new FlagError(flag, value, `one of ${choices.join(", ")}`);
  }
  return value as T;
}

/**
 * Parses a `start:duration` window in seconds into milliseconds.
 *
 * @example
 * ```ts
 * import { windowSpec } from "./flags.ts";
 * console.log(windowSpec("--window", "60:30")); // { startMs: 60000, durationMs: 30000 }
 * ```
 */
export function windowSpec(
  flag: string,
  value: string,
): { startMs: number; durationMs: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m || Number(m[2]) <= 0) {
    throw new FlagError(flag, value, "start:duration in seconds, e.g. 0:60");
  }
  return { startMs: Number(m[1]) * 1000, durationMs: Number(m[2]) * 1000 };
}

/**
 * Parses a fraction from 0 to 1 inclusive.
 *
 * @example
 * ```ts
 * import { fraction } from "./flags.ts";
 * console.log(fraction("--max-error-rate", "0.05")); // 0.05
 * ```
 */
export function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1)) {
    throw new FlagError(flag, value, "a fraction from 0 to 1, e.g. 0.05");
  }
  return n;
}
