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
  if (Deno.build.os !== "linux" || nr === undefined) return false;
  try {
    // Opened once per thread and never closed: libc stays loaded anyway, and closing an FFI
    // library in a worker that is later terminated is a teardown path best not taken.
    libc ??= Deno.dlopen("libc.so.6", {
      syscall: { parameters: ["i64"], result: "i64" },
      setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
    });
    const tid = Number(libc.symbols.syscall(BigInt(nr)));
    // PRIO_PROCESS with a thread id sets that thread only (Linux).
    return libc.symbols.setpriority(0, tid, nice) === 0;
  } catch {
    return false;
  }
}

let libc:
  | Deno.DynamicLibrary<{
    syscall: { parameters: ["i64"]; result: "i64" };
    setpriority: { parameters: ["i32", "u32", "i32"]; result: "i32" };
  }>
  | undefined;
