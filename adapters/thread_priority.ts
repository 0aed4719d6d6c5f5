/**
 * OS scheduling priorities of threads (Linux): lowers background work (the recorder's database
 * writes, the built-in engine's threads on a CPU adapter) so that it yields the cores to threads
 * that take timestamps, and raises a pacing thread to real-time scheduling where permitted.
 *
 * On a busy 2-core machine a DuckDB insert on the recorder's thread made the reading thread
 * wait for a core: the late tokens of a calibration came in bursts, one every ~100 ms
 * (docs/perf.md). A nice value only lowers this thread's share when the cores are contended;
 * an idle machine runs it as before. Needs `--allow-ffi` (tokentrace runs with `-A`); without
 * it, or off Linux, nothing changes.
 *
 * @module
 */

/** `gettid` syscall numbers by architecture. */
const GETTID: Record<string, number> = { x86_64: 186, aarch64: 178 };

/**
 * Sets the calling thread's nice value (0 = normal, 19 = lowest); returns whether it did.
 *
 * @example
 * ```ts ignore
 * import { lowerThreadPriority } from "./thread_priority.ts";
 * lowerThreadPriority(10);
 * ```
 */
export function lowerThreadPriority(nice: number): boolean {
  const nr = GETTID[Deno.build.arch];
  const c = nr === undefined ? undefined : openLibc();
  if (!c) return false;
  const tid = Number(c.symbols.syscall(BigInt(nr)));
  // PRIO_PROCESS with a thread id sets that thread only (Linux).
  return c.symbols.setpriority(0, tid, nice) === 0;
}

/** libc's calls used here, or undefined off Linux or without `--allow-ffi`. */
function openLibc(): typeof libc {
  if (Deno.build.os !== "linux") return undefined;
  try {
    // Opened once per thread and never closed: libc stays loaded anyway, and closing an FFI
    // library in a worker that is later terminated is a teardown path best not taken.
    libc ??= Deno.dlopen("libc.so.6", LIBC);
    return libc;
  } catch {
    return undefined;
  }
}

/**
 * Sets the nice value of every thread of this process, as they are now (Linux: one
 * `setpriority` per entry of `/proc/self/task`); returns how many it set. Threads started
 * later inherit the value of the thread that starts them. For a process that only does
 * background work, such as the built-in engine's own process on a CPU adapter.
 *
 * @example
 * ```ts ignore
 * import { lowerProcessPriority } from "./thread_priority.ts";
 * lowerProcessPriority(10);
 * ```
 */
export function lowerProcessPriority(nice: number): number {
  const c = openLibc();
  if (!c) return 0;
  let n = 0;
  try {
    for (const e of Deno.readDirSync("/proc/self/task")) {
      if (c.symbols.setpriority(0, Number(e.name), nice) === 0) n++;
    }
  } catch {
    // No /proc (a sandbox): the calling thread is set.
  }
  return n;
}

const LIBC = {
  syscall: { parameters: ["i64"], result: "i64" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC> | undefined;

/** `SCHED_OTHER`, `SCHED_FIFO` and the `SCHED_RESET_ON_FORK` flag (linux/sched.h). */
const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_RESET_ON_FORK = 0x40000000;
/** errno names of what `sched_setscheduler` can refuse with. */
const ERRNO: Record<number, string> = { 1: "EPERM", 22: "EINVAL", 3: "ESRCH" };

/** The outcome of {@linkcode raiseThreadToRealtime}. */
export type RealtimeResult =
  | { raised: true; priority: number }
  | { raised: false; reason: string };

/**
 * Moves the calling thread to `SCHED_FIFO` at `priority` (1-99), with `SCHED_RESET_ON_FORK`:
 * threads and processes it starts later run at the normal policy, so only this thread is
 * raised. The kernel's real-time throttle (`sched_rt_runtime_us`, 95 % of a core by default)
 * still bounds it. Needs `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least `priority`
 * (`ulimit -r`); else it is refused (`EPERM`) and nothing changes. Undo with
 * {@linkcode restoreThreadPolicy}.
 *
 * @example
 * ```ts ignore
 * import { raiseThreadToRealtime, restoreThreadPolicy } from "./thread_priority.ts";
 * const r = raiseThreadToRealtime(10);
 * try {
 *   pace();
 * } finally {
 *   if (r.raised) restoreThreadPolicy();
 * }
 * ```
 */
export function raiseThreadToRealtime(priority: number): RealtimeResult {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) {
    throw new RangeError(
      `raiseThreadToRealtime: expected a priority 1-99, got ${priority}`,
    );
  }
  const c = openLibc();
  if (!c) {
    return {
      raised: false,
      reason: Deno.build.os === "linux"
        ? "no FFI permission (run with --allow-ffi)"
        : `not on Linux (${Deno.build.os})`,
    };
  }
  const param = new Int32Array([priority]);
  if (
    c.symbols.sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, param) ===
      0
  ) {
    return { raised: true, priority };
  }
  const at = c.symbols.__errno_location();
  const errno = at ? new Deno.UnsafePointerView(at).getInt32() : -1;
  return {
    raised: false,
    reason: `sched_setscheduler refused it (${
      ERRNO[errno] ?? `errno ${errno}`
    })`,
  };
}

/** Returns the calling thread to the normal policy (`SCHED_OTHER`); always permitted. */
export function restoreThreadPolicy(): void {
  openLibc()?.symbols.sched_setscheduler(0, SCHED_OTHER, new Int32Array([0]));
}
