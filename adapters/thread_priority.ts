/**
 * Lowers the OS scheduling priority of the calling thread (Linux), so that background work
 * (the recorder's database writes, the built-in engine's thread on a CPU adapter) yields the cores to threads that take timestamps.
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
    libc ??= Deno.dlopen("libc.so.6", {
      syscall: { parameters: ["i64"], result: "i64" },
      setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
    });
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

let libc:
  | Deno.DynamicLibrary<{
    syscall: { parameters: ["i64"]; result: "i64" };
    setpriority: { parameters: ["i32", "u32", "i32"]; result: "i32" };
  }>
  | undefined;
