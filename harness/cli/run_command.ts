/**
 * `tokentrace run`: replay a trace against a backend into the result database.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import { checkReachable } from "../../adapters/openai/reachable.ts";
import { apiKeyFromEnv } from "../../adapters/openai/api_key.ts";
import type { Backend } from "../../adapters/backend.ts";
import {
  type ServingEngineOptions,
  WebGPUBackend,
} from "../../adapters/webgpu/mod.ts";
import { type EngineFlags, parseEngineFlags } from "./engine_flags.ts";
import { loadWorkload, type WorkloadConfig } from "../../workloads/mod.ts";
import {
  installViews,
  openSnapshot,
  parseSlo,
  renderTerminal,
  runFailure,
  runHeadline,
  type Slo,
  summarizeRun,
} from "../../reports/mod.ts";
import { reportCommand } from "./report_command.ts";
import { runRepeated } from "./repeat_runs.ts";
import { RunClock } from "../clock.ts";
import { autoWorkers } from "../parallel.ts";
import { executeRun, type ExecuteRunOptions } from "../run_session.ts";
import { Store } from "../store.ts";
import {
  FlagError,
  fraction,
  integerAtLeast,
  oneOf,
  positiveNumber,
  windowSpec,
} from "./flags.ts";
import { ProgressLine } from "./progress.ts";
import {
  type LoadConfig,
  type LoadFlags,
  parseLoadFlags,
} from "./load_flags.ts";
import {
  parseWorkloadFlags,
  runPrompts,
  type WorkloadFlags,
  workloadNotes,
} from "./workload_flags.ts";

/** Raw `run` flags as commander gives them (workload flags: {@linkcode WorkloadFlags}). */
export interface RunFlags
  extends WorkloadFlags, Omit<EngineFlags, "model">, LoadFlags {
  trace?: string;
  format?: string;
  backend: string;
  url?: string;
  api: string;
  model?: string;
  endpointKind: string;
  transport?: string;
  apiKeyEnv: string;
  timeout: string;
  speedup: string;
  window?: string;
  maxRequests?: string;
  prompt: string;
  vocabSize: string;
  tokenizer?: string;
  allowApproxLength?: boolean;
  db: string;
  label?: string;
  slo?: string;
  json?: boolean;
  quiet?: boolean;
  /** Measurement window trims in seconds (reports/sql/run_window.sql). */
  warmup?: string;
  cooldown?: string;
  /** A suite file: run its scenarios instead (harness/cli/suite_command.ts). */
  suite?: string;
  /** Runs of the same configuration, recorded as one group. */
  repeat?: string;
  /** Exit 1 when a larger fraction of sent requests failed. */
  maxErrorRate?: string;
}

/** The validated configuration of a run. */
export interface RunConfig extends LoadConfig {
  /** The workload as given (trace path, catalog name or synthetic spec), for messages. */
  trace: string;
  /** Where requests come from and how they are transformed. */
  workload: WorkloadConfig;
  /** The served model's tokenizer.json, for text prompts of verified length. */
  tokenizer?: string;
  /** Send approximate text prompts when there is no tokenizer. */
  allowApproximate: boolean;
  format?: string;
  backend: "openai" | "webgpu";
  /** The built-in engine's options (`--backend webgpu`). */
  engine?: ServingEngineOptions;
  url: string;
  api: "completions" | "chat";
  model?: string;
  endpointKind: "vllm" | "sglang" | "openai";
  apiKeyEnv: string;
  /** How requests are sent (adapters/openai/options.ts `transport`). */
  transport: "auto" | "h1" | "fetch";
  timeoutMs: number;
  speedup: number;
  window?: { startMs: number; durationMs: number };
  maxRequests?: number;
  prompt: "token_ids" | "text";
  vocabSize: number;
  db: string;
  label?: string;
  slo?: Slo;
  json: boolean;
  quiet: boolean;
  /** Measurement window trims in seconds, recorded with the run (0 = none). */
  warmupS: number;
  cooldownS: number;
  /** Sweep, suite or group the run belongs to (set by `sweep`, `run --suite`, `--repeat`). */
  grouping?: ExecuteRunOptions["grouping"];
  /** Runs of this configuration to record as one group (`--repeat`, default 1). */
  repeat: number;
  /** Exit 1 when more than this fraction of sent requests failed (`--max-error-rate`). */
  maxErrorRate?: number;
  /** What to print after the run: the full summary (default) or only its headline. */
  summary?: "full" | "headline";
}

/**
 * Validates `run` flags into a {@linkcode RunConfig}; errors name the flag.
 *
 * @example
 * ```ts
 * import { parseRunConfig } from "./run_command.ts";
 * const c = parseRunConfig({ trace: "t.csv", backend: "openai", url: "http://127.0.0.1:8000", api: "completions",
 *   endpointKind: "openai", apiKeyEnv: "OPENAI_API_KEY", timeout: "600", speedup: "1", prompt: "ids",
 *   vocabSize: "32000", db: "results.duckdb" });
 * console.log(c.timeoutMs); // 600000
 * ```
 */
export function parseRunConfig(f: RunFlags): RunConfig {
  const loadConfig = parseLoadFlags(f);
  const workload = parseWorkloadFlags(f);
  const backend = oneOf("--backend", f.backend, ["openai", "webgpu"] as const);
  if (!f.url && backend === "openai") {
    throw new FlagError(
      "--url",
      f.url ?? "",
      "the server's base URL, e.g. http://127.0.0.1:8000",
    );
  }
  const api = oneOf("--api", f.api, ["completions", "chat"] as const);
  const prompt = oneOf("--prompt", f.prompt, ["ids", "text"] as const) === "ids"
    ? "token_ids"
    : "text";
  if (api === "chat" && prompt === "token_ids") {
    throw new FlagError(
      "--prompt",
      f.prompt,
      "text with --api chat (chat endpoints take messages, not token ids); pass --prompt text " +
        "with --tokenizer <tokenizer.json> for exact lengths, or --allow-approx-length",
    );
  }
  if (
    backend === "webgpu" && loadConfig.workers !== "auto" &&
    loadConfig.workers > 1
  ) {
    throw new FlagError(
      "--workers",
      f.workers ?? "",
      "1 with --backend webgpu (the built-in engine serves from one thread; spread sending is for remote servers)",
    );
  }
  return {
    ...loadConfig,
    trace: f.workload ?? f.trace ?? `synthetic:${f.synthetic}`,
    workload,
    tokenizer: f.tokenizer,
    allowApproximate: f.allowApproxLength ?? false,
    format: f.format,
    backend,
    engine: backend === "webgpu" ? parseEngineFlags(f) : undefined,
    url: f.url ?? "",
    api,
    model: f.model,
    endpointKind: oneOf(
      "--endpoint-kind",
      f.endpointKind,
      ["vllm", "sglang", "openai"] as const,
    ),
    apiKeyEnv: f.apiKeyEnv,
    transport: oneOf(
      "--transport",
      f.transport ?? "auto",
      [
        "auto",
        "h1",
        "fetch",
      ] as const,
    ),
    timeoutMs: positiveNumber("--timeout", f.timeout) * 1000,
    speedup: positiveNumber("--speedup", f.speedup),
    window: f.window ? windowSpec("--window", f.window) : undefined,
    maxRequests: f.maxRequests
      ? integerAtLeast("--max-requests", f.maxRequests, 1)
      : undefined,
    prompt,
    vocabSize: integerAtLeast("--vocab-size", f.vocabSize, 1256),
    db: f.db,
    label: f.label,
    slo: f.slo ? parseSlo(f.slo) : undefined,
    json: f.json ?? false,
    quiet: f.quiet ?? false,
    warmupS: f.warmup ? positiveNumber("--warmup", f.warmup) : 0,
    cooldownS: f.cooldown ? positiveNumber("--cooldown", f.cooldown) : 0,
    repeat: f.repeat ? integerAtLeast("--repeat", f.repeat, 1) : 1,
    maxErrorRate: f.maxErrorRate === undefined
      ? undefined
      : fraction("--max-error-rate", f.maxErrorRate),
  };
}

/** What a finished `run` command produced. */
export interface RunCommandResult {
  runId: string;
  status: "completed" | "aborted" | "failed";
  exitCode: number;
}

/**
 * Runs a replay: reads the trace, checks the server, records the run and prints its summary.
 * SIGINT/SIGTERM stop sending, cancel requests in flight, flush and mark the run `aborted`.
 */
export async function runCommand(cfg: RunConfig): Promise<RunCommandResult> {
  if (cfg.repeat > 1 && cfg.grouping?.group === undefined) {
    return await runRepeated(cfg, runCommand);
  }
  const loaded = await loadWorkload(cfg.workload);
  if (!cfg.quiet) {
    for (const note of workloadNotes(loaded)) console.error(note);
  }
  if (loaded.requests.length === 0) {
    throw new Error(
      `Workload "${cfg.trace}" has no requests after the window, filters and limits: widen --window, the length bounds or --max-requests`,
    );
  }
  const prompts = await runPrompts(loaded.requests, {
    api: cfg.api,
    kind: cfg.prompt,
    vocabSize: cfg.vocabSize,
    tokenizer: cfg.tokenizer,
    allowApproximate: cfg.allowApproximate,
    blockSize: cfg.workload.read?.blockSize,
    seed: cfg.workload.seed ?? 0,
  });
  const requests = prompts.requests;
  if (prompts.lengths === "approximate" && !cfg.quiet) {
    console.error(
      `Prompt lengths are approximate for ${prompts.approximateRequests} request(s) (no tokenizer): ` +
        "the report's fidelity section shows the drift from the server-reported prompt tokens",
    );
  }

  let clock: RunClock;
  let backend: Backend;
  if (cfg.backend === "webgpu") {
    // The built-in engine in-process (prompt ids >= its vocabulary are folded into it).
    clock = new RunClock();
    const c = clock;
    backend = await WebGPUBackend.open({
      ...cfg.engine,
      nowNs: () => c.nowNs(),
    });
  } else {
    const apiKey = apiKeyFromEnv(cfg.apiKeyEnv);
    const models = await checkReachable(cfg.url, { apiKey });
    clock = new RunClock();
    const c = clock;
    backend = new OpenAIBackend({
      baseUrl: cfg.url,
      api: cfg.api,
      model: cfg.model ?? models[0],
      endpointKind: cfg.endpointKind,
      apiKey,
      timeoutMs: cfg.timeoutMs,
      transport: cfg.transport,
      ...cfg.timeouts,
      nowNs: () => c.nowNs(),
    });
  }
  return await recordRun(cfg, backend, clock, requests, {
    ...loaded.record,
    prompt: {
      kind: prompts.kind,
      lengths: prompts.lengths,
      approximateRequests: prompts.approximateRequests,
      vocabSize: cfg.vocabSize,
      tokenizer: cfg.tokenizer ?? null,
    },
    requests: requests.length,
  });
}

/** Executes a run with signal handling and progress, then prints the summary. */
export async function recordRun(
  cfg:
    & Pick<RunConfig, "db" | "label" | "slo" | "json" | "quiet">
    & Partial<
      Pick<
        RunConfig,
        | "warmupS"
        | "cooldownS"
        | "grouping"
        | "load"
        | "workers"
        | "maxErrorRate"
        | "summary"
      >
    >,
  backend: Backend,
  clock: RunClock,
  requests: Parameters<typeof executeRun>[0]["requests"],
  workload: unknown,
  options: unknown = cfg,
): Promise<RunCommandResult> {
  const ac = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => {
    const h = () => {
      if (ac.signal.aborted) {
        console.error(
          `\nSecond ${sig}: exiting now; rows flushed so far are kept`,
        );
        Deno.exit(sig === "SIGINT" ? 130 : 143);
      }
      console.error(
        `\n${sig}: stopping, cancelling requests in flight and flushing (again to force)`,
      );
      ac.abort(sig);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  // The built-in engine serves from this thread (not portable); remote servers may be sent
  // to from worker threads.
  const workers = cfg.workers === undefined || cfg.workers === "auto"
    ? (backend.portable ? autoWorkers(requests, cfg.load ?? {}) : 1)
    : cfg.workers;
  if (workers > 1 && !cfg.quiet) {
    console.error(
      `Sending from ${workers} worker threads (--workers ${
        cfg.workers ?? "auto"
      })`,
    );
  }
  const progress = cfg.quiet ? undefined : new ProgressLine();
  let result;
  try {
    result = await executeRun({
      dbPath: cfg.db,
      backend,
      clock,
      requests,
      label: cfg.label,
      workload,
      options,
      grouping: {
        ...cfg.grouping,
        warmupNs: BigInt(Math.round((cfg.warmupS ?? 0) * 1e9)),
        cooldownNs: BigInt(Math.round((cfg.cooldownS ?? 0) * 1e9)),
      },
      signal: ac.signal,
      load: cfg.load,
      workers,
      onProgress: (p) => progress?.update(p),
    });
    progress?.done(result.replay.progress);
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    await backend.close();
  }
  // The summary decides the exit code too (no request succeeded, --max-error-rate).
  const store = await Store.open(cfg.db);
  let summary;
  try {
    await installViews(store);
    // A snapshot evaluates the views once over this run (fast on long runs: docs/perf.md).
    const snapshot = await openSnapshot(store, { runIds: [result.runId] });
    try {
      summary = await summarizeRun(snapshot, result.runId, cfg.slo);
    } finally {
      snapshot.close();
    }
  } finally {
    store.close();
  }
  if (cfg.json) {
    // exactly what `report --run <id> --format json` prints
    await reportCommand({ db: cfg.db, run: result.runId, format: "json" });
  } else if (!cfg.quiet) {
    console.log(
      cfg.summary === "headline"
        ? `run ${result.runId}: ${runHeadline(summary)}`
        : renderTerminal(summary),
    );
  }
  const failure = result.status === "completed"
    ? runFailure(summary, cfg.maxErrorRate)
    : null;
  if (failure !== null) console.error(failure);
  const bySignal = ac.signal.aborted;
  const exitCode = result.status === "completed"
    ? failure === null ? 0 : 1
    : !bySignal
    ? 1
    : String(ac.signal.reason) === "SIGTERM"
    ? 143
    : 130;
  if (result.status === "aborted" && !bySignal) {
    console.error(
      `Run ${result.runId} ${result.replay.reason}: its rows are in ${cfg.db}, marked aborted`,
    );
  } else if (result.status === "aborted") {
    console.error(
      `Run ${result.runId} aborted by ${ac.signal.reason}: its rows are in ${cfg.db}, marked aborted`,
    );
  }
  return { runId: result.runId, status: result.status, exitCode };
}
