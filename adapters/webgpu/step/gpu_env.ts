/**
 * Process environment the GPU stack needs before the first adapter request.
 *
 * @module
 */

/**
 * Gives Mesa a valid `XDG_RUNTIME_DIR` when the process has none (containers, CI, cron), so
 * that its Vulkan drivers (lavapipe on a CPU) do not print `error: XDG_RUNTIME_DIR is invalid or
 * not set in the environment` on every adapter request. Mesa only reads the variable while its
 * window-system code starts; compute needs nothing in the folder. An existing valid value is
 * kept. Idempotent.
 *
 * @example
 * ```ts
 * import { ensureRuntimeDir } from "./gpu_env.ts";
 * ensureRuntimeDir();
 * console.log(Deno.statSync(Deno.env.get("XDG_RUNTIME_DIR")!).isDirectory); // true
 * ```
 */
export function ensureRuntimeDir(): void {
  const dir = Deno.env.get("XDG_RUNTIME_DIR");
  if (dir) {
    try {
      if (Deno.statSync(dir).isDirectory) return;
    } catch { /* missing: replace it */ }
  }
  const own = Deno.makeTempDirSync({ prefix: "tokentrace-xdg-" });
  Deno.chmodSync(own, 0o700);
  Deno.env.set("XDG_RUNTIME_DIR", own);
}
