/**
 * The `run` flags that shape the offered load, its limits and faults, parsed into one
 * validated {@linkcode LoadConfig}; every error names its flag.
 *
 * @module
 */
import type { LoadOptions } from "../load_plan.ts";
import { PACING_PRIORITIES, type PacingPriority } from "../pacing_priority.ts";
import { FlagError, integerAtLeast, oneOf, positiveNumber } from "./flags.ts";

/** Raw load flags as commander gives them (all optional). */
export interface LoadFlags {
  users?: string;
  think?: string;
  concurrency?: string;
  rampUp?: string;
  duration?: string;
  maxSent?: string;
  cancelRate?: string;
  cancelAfter?: string;
  stopAfterErrors?: string;
  stopErrorRate?: string;
  retries?: string;
  retryBackoff?: string;
  connectTimeout?: string;
  firstTokenTimeout?: string;
  idleTimeout?: string;
  sessions?: boolean;
  workers?: string;
  pacingPriority?: string;
}

/** Per-request time limits in ms (absent: none). */
export interface TimeoutConfig {
  connectTimeoutMs?: number;
  firstTokenTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** The validated load plan and request time limits of a run. */
export interface LoadConfig {
  load: LoadOptions;
  timeouts: TimeoutConfig;
  /**
   * Sender threads: 1 replays on the main thread, more spread over workers (harness/parallel.ts),
   * `auto` decides from the planned load once the workload is read (`autoWorkers`).
   */
  workers: number | "auto";
  /** How the pacing thread is scheduled (harness/pacing_priority.ts). */
  pacingPriority: PacingPriority;
}

const seconds = (flag: string, v: string | undefined) =>
  v === undefined ? undefined : positiveNumber(flag, v) * 1000;

/**
 * Parses the load flags.
 *
 * @example
 * ```ts
 * import { parseLoadFlags } from "./load_flags.ts";
 * const c = parseLoadFlags({ users: "8", think: "0.5", rampUp: "linear:10", stopErrorRate: "0.2:30" });
 * console.log(c.load.mode, c.load.users, c.load.thinkMs, c.load.rampUp, c.load.errorRate);
 * // closed 8 500 { kind: "linear", durationMs: 10000, steps: undefined } { windowMs: 30000, maxRate: 0.2 }
 * ```
 */
export function parseLoadFlags(f: LoadFlags): LoadConfig {
  const load: LoadOptions = {};
  if (f.users !== undefined) {
    load.mode = "closed";
    load.users = integerAtLeast("--users", f.users, 1);
    load.thinkMs = f.think === undefined
      ? 0
      : nonNegativeSeconds("--think", f.think);
  } else if (f.think !== undefined) {
    throw new FlagError(
      "--think",
      f.think,
      "--users too (think time is for a closed loop)",
    );
  }
  if (f.concurrency !== undefined) {
    load.concurrency = integerAtLeast("--concurrency", f.concurrency, 1);
  }
  if (f.rampUp !== undefined) {
    const m = /^(linear|stepped):(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(
      f.rampUp.trim(),
    );
    if (!m || Number(m[2]) <= 0 || (m[1] === "linear" && m[3] !== undefined)) {
      throw new FlagError(
        "--ramp-up",
        f.rampUp,
        "linear:<seconds> or stepped:<seconds>[:<steps>], e.g. linear:30 or stepped:60:4",
      );
    }
    load.rampUp = {
      kind: m[1] as "linear" | "stepped",
      durationMs: Number(m[2]) * 1000,
      steps: m[3] === undefined
        ? undefined
        : integerAtLeast("--ramp-up steps", m[3], 1),
    };
  }
  load.durationMs = seconds("--duration", f.duration);
  if (f.maxSent !== undefined) {
    load.maxRequests = integerAtLeast("--max-sent", f.maxSent, 1);
  }
  if (f.cancelRate !== undefined) {
    const rate = Number(f.cancelRate);
    if (!(rate >= 0 && rate <= 1) || f.cancelRate.trim() === "") {
      throw new FlagError(
        "--cancel-rate",
        f.cancelRate,
        "a fraction in [0, 1]",
      );
    }
    load.cancel = {
      rate,
      delayMs: f.cancelAfter === undefined
        ? 0
        : nonNegativeSeconds("--cancel-after", f.cancelAfter),
    };
  }
  if (f.stopAfterErrors !== undefined) {
    load.stopAfterErrors = integerAtLeast(
      "--stop-after-errors",
      f.stopAfterErrors,
      1,
    );
  }
  if (f.stopErrorRate !== undefined) {
    const m = /^(\d*\.?\d+):(\d+(?:\.\d+)?)$/.exec(f.stopErrorRate.trim());
    if (!m || Number(m[1]) > 1 || Number(m[2]) <= 0) {
      throw new FlagError(
        "--stop-error-rate",
        f.stopErrorRate,
        "<fraction>:<window seconds>, e.g. 0.2:30",
      );
    }
    load.errorRate = { windowMs: Number(m[2]) * 1000, maxRate: Number(m[1]) };
  }
  // Checked even without --retries: a bad value is a mistake whether or not it is used.
  const backoffMs = f.retryBackoff === undefined
    ? 1000
    : nonNegativeSeconds("--retry-backoff", f.retryBackoff);
  if (f.retries !== undefined) {
    load.retries = {
      max: integerAtLeast("--retries", f.retries, 0),
      backoffMs,
    };
  }
  if (f.sessions) load.sessions = true;
  return {
    load,
    workers: f.workers === undefined || f.workers.trim() === "auto"
      ? "auto"
      : workerCount(f.workers),
    pacingPriority: oneOf(
      "--pacing-priority",
      f.pacingPriority ?? "auto",
      PACING_PRIORITIES,
    ),
    timeouts: {
      connectTimeoutMs: seconds("--connect-timeout", f.connectTimeout),
      firstTokenTimeoutMs: seconds(
        "--first-token-timeout",
        f.firstTokenTimeout,
      ),
      idleTimeoutMs: seconds("--idle-timeout", f.idleTimeout),
    },
  };
}

/**
 * The most sender threads `--workers` accepts: twice the cores (at least 4). More threads than
 * cores only contend for them, and each holds its own connections and buffers.
 */
export const MAX_WORKERS: number = Math.max(
  4,
  2 * (navigator.hardwareConcurrency || 1),
);

function workerCount(v: string): number {
  const n = integerAtLeast("--workers", v, 1);
  if (n > MAX_WORKERS) {
    throw new FlagError(
      "--workers",
      v,
      `an integer from 1 to ${MAX_WORKERS} (twice the ${
        navigator.hardwareConcurrency || 1
      } cores; more sender threads than cores only contend), or auto`,
    );
  }
  return n;
}

function nonNegativeSeconds(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new FlagError(flag, v, "a number of seconds >= 0");
  }
  return n * 1000;
}
