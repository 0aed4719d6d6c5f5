/**
 * The workload flags of `tokentrace run` parsed into one {@linkcode WorkloadConfig} (errors
 * name the flag), the prompts of a run, and the notes a run prints about its workload.
 *
 * @module
 */
import {
  BAD_ROW_POLICIES,
  type ColumnMapping,
  type LoadedWorkload,
  loadTokenizer,
  parseArrivalSpec,
  parseSyntheticSpec,
  planPrompts,
  type PromptPlan,
  SpecError,
  TIME_UNITS,
  type TraceRequest,
  type TransformSpec,
  type WorkloadConfig,
} from "../../workloads/mod.ts";
import {
  FlagError,
  integerAtLeast,
  oneOf,
  positiveNumber,
  windowSpec,
} from "./flags.ts";

/** Raw workload flags of `run` (and `workloads inspect`), as commander gives them. */
export interface WorkloadFlags {
  trace?: string;
  workload?: string;
  synthetic?: string;
  traceDir?: string;
  cacheDir?: string;
  format?: string;
  columns?: string;
  timeUnit?: string;
  blockSize?: string;
  filterModel?: string;
  filterLogType?: string;
  sortByTime?: boolean;
  keepSourceFailures?: boolean;
  onBadRow?: string;
  sharegpt?: string;
  outputTokens?: string;
  speedup?: string;
  rate?: string;
  window?: string;
  maxRequests?: string;
  sample?: string;
  sampleSessions?: boolean;
  minInput?: string;
  maxInput?: string;
  minOutput?: string;
  maxOutput?: string;
  capInput?: string;
  capOutput?: string;
  compressIdle?: string;
  arrival?: string;
  seed?: string;
}

/**
 * Parses workload flags into a config; transforms run in a fixed order: arrivals (untimed
 * traces), window, length filters, sample, max-requests, caps, idle compression, rate or speedup,
 * rebase.
 *
 * @example
 * ```ts
 * import { parseWorkloadFlags } from "./workload_flags.ts";
 * const c = parseWorkloadFlags({ workload: "mooncake-conversation", rate: "5", maxRequests: "100" });
 * console.log(c.transforms?.map((t) => t.kind)); // [ "first", "rate", "rebase" ]
 * ```
 */
export function parseWorkloadFlags(f: WorkloadFlags): WorkloadConfig {
  const sources = [f.trace, f.workload, f.synthetic].filter((s) =>
    s !== undefined
  );
  if (sources.length !== 1) {
    throw new FlagError(
      "--workload",
      sources.join(" + "),
      "exactly one of --workload <name|path>, --trace <path> and --synthetic <spec>",
    );
  }
  const int = (flag: string, v: string | undefined, min = 0) =>
    v === undefined ? undefined : integerAtLeast(flag, v, min);
  const list = (v: string | undefined) =>
    v === undefined
      ? undefined
      : v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const t: TransformSpec[] = [];
  if (f.arrival !== undefined) {
    t.push({
      kind: "arrivals",
      process: spec("--arrival", f.arrival, parseArrivalSpec),
    });
  }
  if (f.window) t.push({ kind: "window", ...windowSpec("--window", f.window) });
  const bounds = {
    minInput: int("--min-input", f.minInput),
    maxInput: int("--max-input", f.maxInput),
    minOutput: int("--min-output", f.minOutput),
    maxOutput: int("--max-output", f.maxOutput),
  };
  if (Object.values(bounds).some((b) => b !== undefined)) {
    t.push({ kind: "lengths", ...dropUndefined(bounds) });
  }
  if (f.sample !== undefined) {
    const v = Number(f.sample);
    const count = /^\s*\d+\s*$/.test(f.sample) && v >= 1;
    if (!count && !(v > 0 && v <= 1)) {
      throw new FlagError(
        "--sample",
        f.sample,
        "a fraction in (0, 1], e.g. 0.1, or a count >= 1",
      );
    }
    t.push({
      kind: "sample",
      ...(count ? { count: v } : { fraction: v }),
      ...(f.sampleSessions ? { bySession: true } : {}),
    });
  }
  if (f.maxRequests !== undefined) {
    t.push({
      kind: "first",
      n: integerAtLeast("--max-requests", f.maxRequests, 1),
    });
  }
  const blockSize = int("--block-size", f.blockSize, 1);
  if (f.capInput !== undefined || f.capOutput !== undefined) {
    t.push({
      kind: "cap",
      ...dropUndefined({
        maxInput: int("--cap-input", f.capInput, 1),
        maxOutput: int("--cap-output", f.capOutput, 1),
        blockSize,
      }),
    });
  }
  if (f.compressIdle !== undefined) {
    t.push({
      kind: "compress-idle",
      maxGapMs: positiveNumber("--compress-idle", f.compressIdle) * 1000,
    });
  }
  const speedup = f.speedup === undefined
    ? 1
    : positiveNumber("--speedup", f.speedup);
  if (f.rate !== undefined) {
    if (speedup !== 1) {
      throw new FlagError(
        "--rate",
        f.rate,
        "either --rate or --speedup, not both",
      );
    }
    t.push({ kind: "rate", rps: positiveNumber("--rate", f.rate) });
  } else if (speedup !== 1) t.push({ kind: "speedup", factor: speedup });
  t.push({ kind: "rebase" });
  const read = dropUndefined({
    onBadRow: f.onBadRow === undefined
      ? undefined
      : oneOf("--on-bad-row", f.onBadRow, BAD_ROW_POLICIES),
    sortByTime: f.sortByTime,
    sourceFailures: f.keepSourceFailures ? "keep" as const : undefined,
    blockSize,
    models: list(f.filterModel),
    logTypes: list(f.filterLogType),
    columns: f.columns === undefined ? undefined : parseColumns(f.columns),
    timeUnit: f.timeUnit === undefined
      ? undefined
      : oneOf("--time-unit", f.timeUnit, TIME_UNITS),
    sharegpt: f.sharegpt === undefined
      ? undefined
      : oneOf("--sharegpt", f.sharegpt, ["first-turn", "sessions"] as const),
    defaultOutputTokens: int("--output-tokens", f.outputTokens, 1),
  });
  return {
    workload: f.workload ?? f.trace,
    // Validated here so that the error names the flag; loadWorkload parses it again.
    synthetic: f.synthetic === undefined
      ? undefined
      : (spec("--synthetic", f.synthetic, parseSyntheticSpec), f.synthetic),
    traceDir: f.traceDir,
    cacheDir: f.cacheDir,
    format: f.format,
    read,
    transforms: t,
    seed: int("--seed", f.seed) ?? 0,
  };
}

/**
 * Parses `--columns time=<col>,input=<col>,output=<col>[,session=<col>,hash_ids=<col>]`.
 *
 * @example
 * ```ts
 * import { parseColumns } from "./workload_flags.ts";
 * console.log(parseColumns("time=ts,input=in,output=out")); // { time: "ts", input: "in", output: "out" }
 * ```
 */
export function parseColumns(v: string): ColumnMapping {
  const m: Record<string, string> = {};
  const keys = {
    time: "time",
    input: "input",
    output: "output",
    session: "session",
    hash_ids: "hashIds",
  };
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    const k = part.slice(0, eq).trim();
    if (eq < 0 || !(k in keys) || part.slice(eq + 1).trim() === "") {
      throw new FlagError(
        "--columns",
        v,
        "time=<col>,input=<col>,output=<col> (optionally session=<col>,hash_ids=<col>)",
      );
    }
    m[keys[k as keyof typeof keys]] = part.slice(eq + 1).trim();
  }
  if (!m.input || !m.output) {
    throw new FlagError(
      "--columns",
      v,
      "at least input=<col> and output=<col>",
    );
  }
  return m as unknown as ColumnMapping;
}

function spec<T>(flag: string, v: string, parse: (s: string) => T): T {
  try {
    return parse(v);
  } catch (e) {
    if (e instanceof SpecError) throw new FlagError(flag, v, e.expected);
    throw e;
  }
}

function dropUndefined<T extends object>(
  o: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(
    Object.entries(o).filter(([, x]) => x !== undefined),
  ) as never;
}

/**
 * Lines that tell the user what the reader left out (skipped bad rows, filtered rows, source
 * failures) and whether the trace had arrival times; empty when there is nothing to say.
 *
 * @example
 * ```ts
 * import { workloadNotes } from "./workload_flags.ts";
 * console.log(workloadNotes({ trace: undefined })); // []
 * ```
 */
export function workloadNotes(w: Pick<LoadedWorkload, "trace">): string[] {
  const t = w.trace;
  if (!t) return [];
  const notes: string[] = [];
  if (t.skipped.count > 0) {
    const first = t.skipped.examples[0];
    notes.push(
      `Skipped ${t.skipped.count} bad row(s) of ${t.source.path} (--on-bad-row skip); the first: ` +
        `${
          first.line !== undefined
            ? `line ${first.line}`
            : `record ${first.record}`
        }${first.field ? `, field "${first.field}"` : ""}: ${first.reason}`,
    );
  }
  if (t.filtered > 0) {
    notes.push(`Filtered out ${t.filtered} row(s) by the trace filters`);
  }
  if (t.sourceFailures > 0) {
    notes.push(
      `${t.sourceFailures} request(s) failed in the source trace; ${
        t.options.sourceFailures === "keep"
          ? "replayed"
          : "not replayed (--keep-source-failures to replay)"
      }`,
    );
  }
  if (!t.timed) {
    notes.push(
      "The trace has no arrival times: pass --arrival to pace it, else all requests start at once",
    );
  }
  return notes;
}

/** Prompt flags of `run`. */
export interface PromptFlags {
  api: "completions" | "chat";
  kind: "token_ids" | "text";
  vocabSize: number;
  tokenizer?: string;
  allowApproximate: boolean;
  blockSize?: number;
  seed: number;
}

/** Builds the prompts of a run (loads the tokenizer when one is given). */
export async function runPrompts(
  requests: readonly TraceRequest[],
  p: PromptFlags,
): Promise<PromptPlan> {
  return planPrompts(requests, {
    api: p.api,
    kind: p.kind,
    tokenizer: p.tokenizer ? await loadTokenizer(p.tokenizer) : undefined,
    allowApproximate: p.allowApproximate,
    vocabSize: p.vocabSize,
    blockSize: p.blockSize,
    seed: p.seed,
  });
}
