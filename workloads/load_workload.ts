/**
 * The one entry the commands use to get a workload: a trace (path, catalog name, or a name in a
 * trace folder) or a synthetic spec, read with the reader options, transformed in a fixed order,
 * and described by a record that is stored with the run.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";
import { readTrace, type TraceWorkload } from "./formats/read_trace.ts";
import type { ReaderOptions } from "./formats/reader.ts";
import { resolveWorkload } from "./resolve_workload.ts";
import { workloadCacheDir } from "./cache.ts";
import {
  applyTransforms,
  type TransformResult,
  type TransformSpec,
} from "./transform_pipeline.ts";
import { generateSynthetic, type SyntheticSpec } from "./synthetic/generate.ts";
import type { LengthSpec } from "./synthetic/lengths.ts";
import { parseSyntheticSpec } from "./synthetic/spec.ts";

/** Where a workload comes from and how to shape it. */
export interface WorkloadConfig {
  /** A catalog name or a trace path (`--workload`, `--trace`). */
  workload?: string;
  /** A synthetic spec (`--synthetic`), instead of a trace. */
  synthetic?: string;
  /** A folder that holds trace files (`--trace-dir`). */
  traceDir?: string;
  /** The download cache. Default {@linkcode workloadCacheDir}. */
  cacheDir?: string;
  /** Format name; detected when absent. */
  format?: string;
  /** Reader options (bad rows, filters, mapping, ...). */
  read?: Partial<ReaderOptions>;
  /** Transforms, applied in this order. */
  transforms?: TransformSpec[];
  /** Seed of every random step. Default 0. */
  seed?: number;
}

/** A loaded workload and its record. */
export interface LoadedWorkload {
  /** The requests after transforms, in arrival order. */
  requests: TraceRequest[];
  /** The trace as read (absent for synthetic workloads). */
  trace?: TraceWorkload;
  /** The transforms applied, with their seeds and counts. */
  transforms: TransformResult;
  /** Stored with the run as its `workload` JSON. */
  record: Record<string, unknown>;
}

/**
 * Loads and transforms a workload.
 *
 * @example
 * ```ts
 * import { loadWorkload } from "./load_workload.ts";
 * const w = await loadWorkload({ synthetic: "n=5,arrival=constant:10,input=fixed:100,output=fixed:10" });
 * console.log(w.requests.length, w.requests[4].arrivalMs); // 5 400
 * ```
 */
export async function loadWorkload(
  cfg: WorkloadConfig,
): Promise<LoadedWorkload> {
  const seed = cfg.seed ?? 0;
  let requests: TraceRequest[];
  let trace: TraceWorkload | undefined;
  let source: Record<string, unknown>;
  if (cfg.synthetic !== undefined) {
    const text = parseSyntheticSpec(cfg.synthetic);
    const spec: SyntheticSpec = {
      ...text,
      input: await empirical(text.input, cfg),
      output: await empirical(text.output, cfg),
      seed: text.seed ?? seed,
    };
    requests = generateSynthetic(spec);
    source = {
      synthetic: cfg.synthetic,
      spec: { ...spec, input: brief(spec.input), output: brief(spec.output) },
    };
  } else {
    if (cfg.workload === undefined) {
      throw new Error(
        "Workload: expected a trace path, a catalog name or a synthetic spec, got none",
      );
    }
    const resolved = await resolveWorkload(cfg.workload, {
      traceDir: cfg.traceDir,
      cacheDir: cfg.cacheDir ?? workloadCacheDir(),
    });
    trace = await readTrace(resolved.path, {
      ...cfg.read,
      format: cfg.format ?? resolved.entry?.format,
    });
    requests = trace.requests;
    source = {
      ...trace.source,
      ...(resolved.entry ? { catalog: resolved.entry.name } : {}),
      skipped: trace.skipped,
      filtered: trace.filtered,
      sourceFailures: trace.sourceFailures,
      timed: trace.timed,
      lengths: trace.lengths,
      readOptions: trace.options,
    };
  }
  const transforms = applyTransforms(requests, cfg.transforms ?? [], seed);
  return {
    requests: transforms.requests,
    trace,
    transforms,
    record: {
      source,
      transforms: transforms.applied,
      seed,
      requests: transforms.requests.length,
    },
  };
}

async function empirical(
  spec: ReturnType<typeof parseSyntheticSpec>["input"],
  cfg: WorkloadConfig,
): Promise<LengthSpec> {
  if (spec.kind !== "empirical-trace") return spec;
  const resolved = await resolveWorkload(spec.path, {
    traceDir: cfg.traceDir,
    cacheDir: cfg.cacheDir ?? workloadCacheDir(),
  });
  const t = await readTrace(resolved.path, {
    ...cfg.read,
    format: resolved.entry?.format,
  });
  return {
    kind: "empirical",
    values: t.requests.map((r) =>
      spec.field === "input" ? r.inputTokens : r.outputTokens
    ),
  };
}

/** An empirical spec without its (long) value list, for the record. */
function brief(spec: LengthSpec): unknown {
  return spec.kind === "empirical"
    ? { kind: "empirical", count: spec.values.length }
    : spec;
}
