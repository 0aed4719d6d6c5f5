/**
 * Where a run was made: tool version and host facts, stored with every run.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The tokentrace version (from deno.json). */
export function toolVersion(): string {
  return denoJson.version;
}

/** Facts about the machine and runtime that explain a run's numbers. */
export function hostInfo(): Record<string, unknown> {
  let hostname: string | undefined;
  try {
    hostname = Deno.hostname();
  } catch {
    hostname = undefined;
  }
  return {
    hostname,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}
