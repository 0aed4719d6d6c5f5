/**
 * Lowers the CPU priority of the calling thread (Linux), so that threads doing background work
 * (the recorder's database writes) yield the CPU to the threads that take timestamps.
 *
 * On a 2-core machine a third busy thread delayed token reads by up to 4 ms; at nice 19 the
 * kernel scheduler lets the measuring thread run first (measured; docs/perf.md).
 *
 * @module
 */

/** What {@linkcode lowerThreadPriority} did. */
export interface PriorityResult {
  ok: boolean;
  /** Why it did nothing, when `ok` is false. */
  reason?: string;
}

const SYS_GETTID_X86_64 = 186;
const SYS_GETTID_AARCH64 = 178;
const PRIO_PROCESS = 0;

/**
 * Sets the calling thread's nice value (Linux `setpriority` on its thread id).
 *
 * Needs FFI permission; elsewhere, or without it, it does nothing and says why.
 *
 * @example
 * ```ts
 * import { lowerThreadPriority } from "./_thread_priority.ts";
 * console.log(typeof lowerThreadPriority(19).ok); // boolean
 * ```
 */
export function lowerThreadPriority(nice = 19): PriorityResult {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `not Linux (${Deno.build.os})` };
  }
  const sysGettid = Deno.build.arch === "x86_64"
    ? SYS_GETTID_X86_64
    : SYS_GETTID_AARCH64;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      syscall: { parameters: ["i64"], result: "i64" },
      setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
    });
    try {
      const tid = Number(libc.symbols.syscall(BigInt(sysGettid)));
      const rc = libc.symbols.setpriority(PRIO_PROCESS, tid, nice);
      return rc === 0
        ? { ok: true }
        : { ok: false, reason: `setpriority returned ${rc}` };
    } finally {
      libc.close();
    }
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
