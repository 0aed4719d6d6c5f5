/**
 * Where downloaded workloads live: `$TOKENTRACE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/tokentrace/workloads`, else `~/.cache/tokentrace/workloads`.
 *
 * @module
 */

/**
 * The workload cache folder (not created).
 *
 * @example
 * ```ts
 * import { workloadCacheDir } from "./cache.ts";
 * console.log(workloadCacheDir({ TOKENTRACE_CACHE_DIR: "/data/traces" })); // /data/traces
 * ```
 */
export function workloadCacheDir(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string {
  if (env.TOKENTRACE_CACHE_DIR) return env.TOKENTRACE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/tokentrace/workloads`;
  return `${env.HOME ?? "."}/.cache/tokentrace/workloads`;
}
