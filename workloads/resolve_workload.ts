/**
 * Turns `--workload <name|path>` into a file: a catalog name is looked up in `--trace-dir`
 * (laid out like `../shared/traces`, or flat) and then in the cache; anything else is a path
 * (relative to `--trace-dir` first). A word that is neither a name nor a file is an error that
 * lists the names.
 *
 * @module
 */
import { CATALOG, type CatalogEntry, catalogEntry } from "./catalog.ts";
import { UsageError } from "./base/usage_error.ts";

/** Where a workload was found. */
export interface ResolvedWorkload {
  /** The trace file. */
  path: string;
  /** The catalog entry, for a name. */
  entry?: CatalogEntry;
}

/** Options of {@linkcode resolveWorkload}. */
export interface ResolveOptions {
  /** A folder that already holds trace files. */
  traceDir?: string;
  /** The download cache. */
  cacheDir: string;
}

/** A workload that is neither a cached name nor an existing file. */
export class WorkloadNotFoundError extends UsageError {}

/**
 * Resolves a workload name or path to a file.
 *
 * @example
 * ```ts
 * import { resolveWorkload } from "./resolve_workload.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/conversation_trace.jsonl`, "{}\n");
 * const w = await resolveWorkload("mooncake-conversation", { traceDir: dir, cacheDir: "/nonexistent" });
 * console.log(w.path.endsWith("conversation_trace.jsonl")); // true
 * ```
 */
export async function resolveWorkload(
  nameOrPath: string,
  opts: ResolveOptions,
): Promise<ResolvedWorkload> {
  const entry = catalogEntry(nameOrPath);
  if (entry) {
    const candidates = [
      ...(opts.traceDir
        ? [entry.layout, entry.file].filter((p): p is string => p !== undefined)
          .map((p) => `${opts.traceDir}/${p}`)
        : []),
      `${opts.cacheDir}/${entry.file}`,
    ];
    for (const c of candidates) if (await isFile(c)) return { path: c, entry };
    throw new WorkloadNotFoundError(
      `Workload "${entry.name}" is not downloaded (looked in ${
        candidates.join(", ")
      }): run \`tokentrace workloads fetch ${entry.name}\`, or download ${entry.url} by hand and put it at ${opts.cacheDir}/${entry.file}`,
    );
  }
  const paths = opts.traceDir && !nameOrPath.startsWith("/")
    ? [`${opts.traceDir}/${nameOrPath}`, nameOrPath]
    : [nameOrPath];
  for (const p of paths) if (await isFile(p)) return { path: p };
  // Something that looks like a path is returned as is: readTrace says the file is missing.
  if (/[/.]/.test(nameOrPath)) return { path: nameOrPath };
  throw new WorkloadNotFoundError(
    `Workload "${nameOrPath}": expected a catalog name (${
      CATALOG.map((e) => e.name).join(", ")
    }) or an existing trace file, got neither (looked at ${paths.join(", ")})`,
  );
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
}
