/**
 * The parent-death watch: the CLI ends when its launcher dies.
 *
 * Launchers do not always pass signals on: SIGTERM to the `npx` of the README's command line
 * ends `npx` and leaves its `deno` child running to the end, so CI cancellation and `timeout`
 * did not stop a run. The watch polls the parent process id (`Deno.ppid`, read live): once the
 * launcher is gone the process has been re-parented, and the CLI sends itself SIGTERM, which a
 * run handles as any SIGTERM (stop sending, cancel, flush, mark the run aborted; exit 143). If
 * the process is still alive {@linkcode FORCE_AFTER_MS} later, a second SIGTERM forces it out
 * (a run then is still marked aborted). Polling, not `prctl(PR_SET_PDEATHSIG)`: that needs FFI,
 * is Linux-only and fires when the launching *thread* ends, not the process.
 *
 * Not armed when the process ignores SIGHUP (started under `nohup`: the user asked it to
 * outlive its terminal) or when `TOKENTRACE_ORPHAN=continue` is set.
 *
 * @module
 */

/** How often the parent is checked, in ms (also the most a launcher's death goes unnoticed). */
export const POLL_MS = 250;
/** From the first SIGTERM to the second, in ms, if the process has not ended by then. */
export const FORCE_AFTER_MS = 10_000;

let gone = false;

/** Whether the launcher died (the SIGTERM the CLI got was the watch's). */
export function launcherGone(): boolean {
  return gone;
}

/** Whether this process ignores SIGHUP (Linux `/proc/self/status` SigIgn; false elsewhere). */
function ignoresHangup(): boolean {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status);
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n; // SIGHUP is signal 1: bit 0
  } catch {
    return false;
  }
}

/**
 * Starts the watch (once per process); it never keeps the process alive. Returns false when it
 * is not armed (see the module documentation).
 *
 * @example
 * ```ts
 * import { watchParent } from "./parent_watch.ts";
 * console.log(typeof watchParent()); // boolean
 * ```
 */
export function watchParent(): boolean {
  if (Deno.build.os === "windows") return false;
  if (ignoresHangup()) return false;
  try {
    if (Deno.env.get("TOKENTRACE_ORPHAN") === "continue") return false;
  } catch { /* no env permission: watch */ }
  const parent = Deno.ppid;
  if (parent <= 1) return false; // started orphaned (a service manager's child): no launcher
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    gone = true;
    console.error(
      `\ntokentrace: the launching process (pid ${parent}) exited: stopping as on SIGTERM`,
    );
    Deno.kill(Deno.pid, "SIGTERM");
    const force = setTimeout(
      () => Deno.kill(Deno.pid, "SIGTERM"),
      FORCE_AFTER_MS,
    );
    Deno.unrefTimer(force);
  }, POLL_MS);
  Deno.unrefTimer(timer);
  return true;
}
