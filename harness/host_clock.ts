/**
 * The host clock, measured: where the machine's wall clock (`Date.now()`, the system's real-time
 * clock) stands against this process's monotonic clock (`performance.now()`), and what the
 * kernel says about the wall clock's synchronisation.
 *
 * A run clock is anchored to the wall clock once, at process start (`performance.timeOrigin`);
 * after that it follows the monotonic clock, which may have drifted from the wall clock by the
 * time a shard must start. Shards of one run therefore place their shared start by a fresh
 * reading of the host clock. `Date.now()` ticks in whole milliseconds, so a reading spins until
 * it ticks and takes the tick's instant on the monotonic clock (known to about a microsecond,
 * and the width of that interval is reported).
 *
 * @module
 */
import type { RunClock } from "./clock.ts";

/** One reading: the monotonic instant at which the host clock began a millisecond. */
export interface HostClockReading {
  /** `performance.now()` at the tick (midpoint of the interval it was found in), ms. */
  perfMs: number;
  /** The host clock's value from that instant: ms since the Unix epoch (an integer). */
  unixMs: number;
  /** Half the width of the interval holding the tick, ms: the reading's uncertainty. */
  uncertaintyMs: number;
}

/** Options of {@linkcode readHostClock}. */
export interface ReadHostClockOptions {
  /** Ticks to observe at least; the narrowest interval is kept. Default 3 (~3 ms of spinning). */
  ticks?: number;
  /**
   * More ticks, up to this many, while the narrowest interval is wider than `goodMs` (a thread
   * preempted during the spin, as on busy cores). Default 20.
   */
  maxTicks?: number;
  /** An uncertainty good enough to stop at, ms. Default 0.005 (5 us). */
  goodMs?: number;
}

/**
 * Reads the host clock against the monotonic clock by spinning over `ticks` millisecond ticks
 * of `Date.now()` (the first tick after a cold start is often found late; the narrowest wins),
 * and over more, up to `maxTicks`, while none was narrower than `goodMs`.
 *
 * @example
 * ```ts
 * import { readHostClock } from "./host_clock.ts";
 * const before = Date.now();
 * const r = readHostClock();
 * console.log(r.unixMs > before, Number.isInteger(r.unixMs), r.uncertaintyMs >= 0); // true true true
 * ```
 */
export function readHostClock(
  options: ReadHostClockOptions = {},
): HostClockReading {
  const ticks = options.ticks ?? 3;
  if (!Number.isInteger(ticks) || ticks < 1) {
    throw new RangeError(
      `Host clock reading: expected ticks to be an integer >= 1, got ${ticks}`,
    );
  }
  const maxTicks = Math.max(ticks, options.maxTicks ?? 20);
  const goodMs = options.goodMs ?? 0.005;
  let best: HostClockReading | undefined;
  for (
    let k = 0;
    k < ticks || (k < maxTicks && best!.uncertaintyMs > goodMs);
    k++
  ) {
    // before[i] <= the instant Date.now() read <= after[i]; the tick lies after the last
    // read of the old value began and before the first read of the new value ended.
    let prevBefore = performance.now();
    let prev = Date.now();
    const giveUp = prevBefore + 50;
    for (;;) {
      const before = performance.now();
      const now = Date.now();
      const after = performance.now();
      if (now !== prev) {
        const reading = {
          perfMs: (prevBefore + after) / 2,
          unixMs: now,
          uncertaintyMs: (after - prevBefore) / 2,
        };
        if (best === undefined || reading.uncertaintyMs < best.uncertaintyMs) {
          best = reading;
        }
        break;
      }
      if (before > giveUp) {
        throw new Error(
          `Host clock reading: Date.now() stayed at ${now} for 50 ms of performance.now(); ` +
            "the wall clock is stopped or coarse, so a shared start time cannot be placed",
        );
      }
      prevBefore = before;
      prev = now;
    }
  }
  return best!;
}

/**
 * The host clock's time at run-clock time `tNs`, from a reading (ns since the Unix epoch).
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { hostUnixNsAt } from "./host_clock.ts";
 * const clock = new RunClock(1000);
 * console.log(hostUnixNsAt(clock, { perfMs: 1002, unixMs: 5000, uncertaintyMs: 0 }, 3_000_000n));
 * // 5000001000000n
 * ```
 */
export function hostUnixNsAt(
  clock: RunClock,
  reading: HostClockReading,
  tNs: bigint,
): bigint {
  return BigInt(reading.unixMs) * 1_000_000n + tNs -
    clock.fromPerfMs(reading.perfMs);
}

/**
 * How far the run clock's own wall anchor is ahead of the host clock at the reading, in ns
 * (`clock.toUnixNs(t) - host clock at t`): 0 when the monotonic clock has kept with the wall
 * clock since the process started.
 *
 * @example
 * ```ts
 * import { RunClock } from "./clock.ts";
 * import { hostClockOffsetNs, readHostClock } from "./host_clock.ts";
 * const clock = new RunClock();
 * console.log(typeof hostClockOffsetNs(clock, readHostClock())); // bigint
 * ```
 */
export function hostClockOffsetNs(
  clock: RunClock,
  reading: HostClockReading,
): bigint {
  const t = clock.fromPerfMs(reading.perfMs);
  return clock.toUnixNs(t) - hostUnixNsAt(clock, reading, t);
}

/** What the host says about its wall clock. Absent fields are unknown on this host. */
export interface HostClockStatus {
  /**
   * Which clock this is: the kernel's boot id, shared by every process and container of one
   * machine (`/proc/sys/kernel/random/boot_id`), else the host name.
   */
  id?: string;
  /** The kernel considers the clock synchronised (adjtimex(2): not TIME_ERROR, no STA_UNSYNC). */
  synced?: boolean;
  /** The kernel's estimated error of the clock (adjtimex `esterror`), ns. */
  estErrorNs?: bigint;
  /** The kernel's maximum error of the clock (adjtimex `maxerror`), ns. */
  maxErrorNs?: bigint;
}

/** `adjtimex(2)` return value of an unsynchronised clock, and the status bit that says so. */
const TIME_ERROR = 5;
const STA_UNSYNC = 0x0040;

/**
 * The host clock's identity and the kernel's view of its synchronisation (Linux, through
 * `adjtimex(2)` with no changes: needs `--allow-ffi`, no privileges). Elsewhere, or without the
 * permission, only what could be read.
 *
 * @example
 * ```ts
 * import { hostClockStatus } from "./host_clock.ts";
 * const s = hostClockStatus();
 * console.log(s.synced === undefined || typeof s.synced === "boolean"); // true
 * ```
 */
export function hostClockStatus(): HostClockStatus {
  const status: HostClockStatus = {};
  try {
    status.id = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id")
      .trim();
  } catch {
    try {
      status.id = `host:${Deno.hostname()}`;
    } catch { /* unknown */ }
  }
  if (Deno.build.os !== "linux") return status;
  let lib:
    | Deno.DynamicLibrary<{
      adjtimex: { parameters: ["buffer"]; result: "i32" };
    }>
    | undefined;
  try {
    lib = Deno.dlopen("libc.so.6", {
      adjtimex: { parameters: ["buffer"], result: "i32" },
    });
    // struct timex (LP64): modes (int) at 0, offset 8, freq 16, maxerror 24, esterror 32 (long,
    // microseconds), status (int) at 40; 208 bytes with its padding. modes = 0: read only.
    const buf = new Uint8Array(208);
    const rc = lib.symbols.adjtimex(buf);
    if (rc >= 0) {
      const v = new DataView(buf.buffer);
      status.maxErrorNs = v.getBigInt64(24, true) * 1000n;
      status.estErrorNs = v.getBigInt64(32, true) * 1000n;
      status.synced = rc !== TIME_ERROR &&
        (v.getInt32(40, true) & STA_UNSYNC) === 0;
    }
  } catch {
    // no libc.so.6 (musl), no --allow-ffi: the kernel's view stays unknown
  } finally {
    lib?.close();
  }
  return status;
}
