/**
 * The flags of a sharded run, `--shard i/N` and `--start-at <time>`, and the run options a
 * shard cannot keep; every error names its flag.
 *
 * @module
 */
import type { ShardSpec } from "../shard.ts";
import { FlagError } from "./flags.ts";
import type { LoadConfig } from "./load_flags.ts";

/**
 * Parses `--shard i/N` (0-based `i`, as Kubernetes' `JOB_COMPLETION_INDEX`).
 *
 * @example
 * ```ts
 * import { parseShardFlag } from "./shard_flags.ts";
 * console.log(parseShardFlag("--shard", "2/4")); // { index: 2, count: 4 }
 * ```
 */
export function parseShardFlag(flag: string, value: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const expected =
    "i/N with 0 <= i < N (0-based, as JOB_COMPLETION_INDEX), e.g. 0/4 .. 3/4";
  if (!m) throw new FlagError(flag, value, expected);
  const index = Number(m[1]), count = Number(m[2]);
  if (
    !Number.isSafeInteger(index) || !Number.isSafeInteger(count) ||
    count < 1 || index >= count
  ) {
    throw new FlagError(flag, value, expected);
  }
  return { index, count };
}

/** Earliest accepted start: 2000-01-01T00:00:00Z (anything before is a typo or a unit slip). */
const EARLIEST_MS = Date.UTC(2000, 0, 1);

/**
 * Parses `--start-at`: seconds since the Unix epoch (decimals allowed, as `date +%s.%N` prints)
 * or an ISO 8601 time with its zone (`2026-12-01T10:00:00Z`), into ns since the epoch. Relative
 * times are refused: every shard must be given the same absolute time.
 *
 * @example
 * ```ts
 * import { parseStartAt } from "./shard_flags.ts";
 * console.log(parseStartAt("--start-at", "1796127139.5")); // 1796127139500000000n
 * console.log(parseStartAt("--start-at", "2026-12-01T10:00:00Z")); // 1796119200000000000n
 * ```
 */
export function parseStartAt(flag: string, value: string): bigint {
  const v = value.trim();
  const expected =
    "an absolute time, the same for every shard: seconds since the Unix epoch " +
    "(e.g. $(date -d '+1 min' +%s)) or ISO 8601 with a zone (e.g. 2026-12-01T10:00:00Z)";
  let ns: bigint;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) {
    ns = BigInt(m[1]) * 1_000_000_000n +
      BigInt((m[2] ?? "").padEnd(9, "0"));
  } else if (/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) throw new FlagError(flag, value, expected);
    ns = BigInt(ms) * 1_000_000n;
  } else throw new FlagError(flag, value, expected);
  if (ns < BigInt(EARLIEST_MS) * 1_000_000n) {
    throw new FlagError(
      flag,
      value,
      `${expected}; this is before 2000 (milliseconds given as seconds, or a typo?)`,
    );
  }
  return ns;
}

/** What a sharded run must not combine with (the flags as parsed into a run config). */
export interface ShardedRunChecks {
  closedLoop: boolean;
  concurrency: boolean;
  backend: string;
  repeat: number;
}

/**
 * Refuses what a shard cannot keep on its own: a closed loop (its users take requests from one
 * queue), a concurrency cap (one cap for the whole run cannot be shared between hosts), the
 * built-in engine (each shard would serve its own) and repeated runs.
 *
 * @example
 * ```ts
 * import { checkShardedRun } from "./shard_flags.ts";
 * checkShardedRun("1/2", { closedLoop: false, concurrency: false, backend: "openai", repeat: 1 }); // fine
 * ```
 */
export function checkShardedRun(shard: string, c: ShardedRunChecks): void {
  const refuse = (why: string) => {
    throw new FlagError("--shard", shard, why);
  };
  if (c.closedLoop) {
    refuse(
      "an open-loop run (without --users): a closed loop's users take requests from one queue, which shards on different hosts cannot share",
    );
  }
  if (c.concurrency) {
    refuse(
      "no --concurrency: one cap for the whole run cannot be kept by shards on different hosts",
    );
  }
  if (c.backend !== "openai") {
    refuse(
      "--backend openai (a server shared by every shard): with the built-in engine each shard would serve its own requests",
    );
  }
  if (c.repeat > 1) {
    refuse(
      "no --repeat: repeat the sharded run by starting its shards again with a new --start-at",
    );
  }
}

/**
 * Parses `--shard` and `--start-at`, which go together, and refuses what a shard cannot keep
 * (see {@linkcode checkShardedRun}).
 *
 * @example
 * ```ts
 * import { parseShardFlags } from "./shard_flags.ts";
 * const c = parseShardFlags({ shard: "1/2", startAt: "1796119200" }, { load: {} }, "openai");
 * console.log(c.shard, c.startAtUnixNs); // { index: 1, count: 2 } 1796119200000000000n
 * ```
 */
export function parseShardFlags(
  f: { shard?: string; startAt?: string; repeat?: string },
  loadConfig: Pick<LoadConfig, "load">,
  backend: string,
): { shard?: ShardSpec; startAtUnixNs?: bigint } {
  if (f.shard === undefined && f.startAt === undefined) return {};
  if (f.shard === undefined) {
    throw new FlagError(
      "--start-at",
      f.startAt,
      "--shard i/N too (a shared start is for the shards of one run; --shard 0/1 for a single one)",
    );
  }
  if (f.startAt === undefined) {
    throw new FlagError(
      "--shard",
      f.shard,
      "--start-at too: every shard of a run starts at the same absolute time",
    );
  }
  const shard = parseShardFlag("--shard", f.shard);
  checkShardedRun(f.shard, {
    closedLoop: loadConfig.load.mode === "closed",
    concurrency: loadConfig.load.concurrency !== undefined,
    backend,
    repeat: f.repeat ? Number(f.repeat) : 1,
  });
  return { shard, startAtUnixNs: parseStartAt("--start-at", f.startAt) };
}
