/**
 * `tokentrace run`: replay a trace against a backend into the result database.
 *
 * @module
 */
import { EXIT, signalExitCode } from "./exit_codes.ts";
import { runOptionsRecord } from "./run_options.ts";
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import {
  type ServedModel,
  servedModels,
} from "../../adapters/openai/reachable.ts";
import {
  apiKeyFromEnv,
  DEFAULT_API_KEY_ENV,
} from "../../adapters/openai/api_key.ts";
import {
  ENDPOINT_KINDS,
  type EndpointKind,
  kindFromOwner,
} from "../../adapters/openai/endpoint_kinds.ts";
import type { Backend } from "../../adapters/backend.ts";
import {
  type ServingEngineOptions,
  WebGPUBackend,
} from "../../adapters/webgpu/mod.ts";
import { type EngineFlags, parseEngineFlags } from "./engine_flags.ts";
import {
  assertPromptsPossible,
  fitContext,
  loadWorkload,
  MIN_FREE_IDS,
  type TraceRequest,
  type WorkloadConfig,
} from "../../workloads/mod.ts";
import {
  DEFAULT_FAILURE_POLICY,
  type FailurePolicy,
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
import type { ShardSpec } from "../shard.ts";
import { Store } from "../store.ts";
import { parseShardFlags } from "./shard_flags.ts";
import { shardedRecording, type StartHooks } from "./shard_run.ts";
import {
  asFlagError,
  FlagError,
  fraction,
  integerAtLeast,
  oneOf,
  positiveNumber,
  windowSpec,
} from "./flags.ts";
import { ProgressLine } from "./progress.ts";
import { launcherGone } from "./parent_watch.ts";
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
  /** The variable holding the API key; absent: `OPENAI_API_KEY` when set. */
  apiKeyEnv?: string;
  timeout: string;
  speedup: string;
  window?: string;
  maxRequests?: string;
  prompt: string;
  vocabSize?: string;
  /** `scale` (default) or `off`: requests over the served context (prompt + output). */
  fitContext?: string;
  tokenizer?: string;
  allowApproxLength?: boolean;
  db: string;
  /** Write into a `--db` file holding tables tokentrace does not own. */
  allowForeignDb?: boolean;
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
  /** `i/N`: send only shard i's share of the plan (harness/shard.ts); needs `startAt`. */
  shard?: string;
  /** The shared start of a sharded run: epoch seconds or ISO 8601. */
  startAt?: string;
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
  /** `auto`: from the served model's `owned_by` (see {@linkcode endpointKindFor}). */
  endpointKind: "auto" | EndpointKind;
  apiKeyEnv: string;
  /** How requests are sent (adapters/openai/options.ts `transport`). */
  transport: "auto" | "h1" | "fetch";
  timeoutMs: number;
  speedup: number;
  window?: { startMs: number; durationMs: number };
  maxRequests?: number;
  prompt: "token_ids" | "text";
  /** Token ids are drawn below this; undefined: the served model's vocabulary, else 32000. */
  vocabSize?: number;
  /** Shrink requests over the served context (`scale`) or send them as planned (`off`). */
  fitContext: "scale" | "off";
  db: string;
  /** Write into a `--db` file holding tables tokentrace does not own. */
  allowForeignDb: boolean;
  label?: string;
  slo?: Slo;
  /** The failure policy the run is judged by (default: count-errors); set by sweeps and suites. */
  failurePolicy?: FailurePolicy;
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
  /** What to print after the run: the full summary (default), only its headline, or nothing. */
  summary?: "full" | "headline" | "none";
  /** Send only this shard's share of the plan (`--shard i/N`), from `startAtUnixNs`. */
  shard?: ShardSpec;
  /** The shared start of a sharded run (`--start-at`), ns since the Unix epoch. */
  startAtUnixNs?: bigint;
}

/**
 * Validates `run` flags into a {@linkcode RunConfig}; errors name the flag.
 *
 * @example
 * ```ts
 * import { parseRunConfig } from "./run_command.ts";
 * const c = parseRunConfig({ trace: "t.csv", backend: "openai", url: "http://127.0.0.1:8000", api: "completions",
 *   endpointKind: "openai", timeout: "600", speedup: "1", prompt: "ids",
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
  // A variable named on purpose must hold a key: an unset one would send no key at all.
  if (
    backend === "openai" && f.apiKeyEnv !== undefined &&
    asFlagError(() => apiKeyFromEnv(f.apiKeyEnv)) === undefined
  ) {
    throw new FlagError(
      "--api-key-env",
      f.apiKeyEnv,
      "the name of a set, non-empty environment variable holding the API key (leave the flag out to send no key unless OPENAI_API_KEY is set)",
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
    ...parseShardFlags(f, loadConfig, backend),
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
      ["auto", ...ENDPOINT_KINDS] as const,
    ),
    apiKeyEnv: f.apiKeyEnv ?? DEFAULT_API_KEY_ENV,
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
    vocabSize: f.vocabSize === undefined
      ? undefined
      : integerAtLeast("--vocab-size", f.vocabSize, 2 * MIN_FREE_IDS),
    fitContext: oneOf(
      "--fit-context",
      f.fitContext ?? "scale",
      [
        "scale",
        "off",
      ] as const,
    ),
    db: f.db,
    allowForeignDb: f.allowForeignDb ?? false,
    label: f.label,
    slo: f.slo ? asFlagError(() => parseSlo(f.slo!)) : undefined,
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
  // Refuse prompts that cannot be made before contacting anyone.
  assertPromptsPossible(loaded.requests, {
    api: cfg.api,
    kind: cfg.prompt,
    tokenizer: cfg.tokenizer !== undefined,
    allowApproximate: cfg.allowApproximate,
  });
  // Then the server: the model it serves says which ids and lengths it accepts.
  let clock: RunClock;
  let backend: Backend;
  let served: ServedModel | undefined;
  if (cfg.backend === "webgpu") {
    // The built-in engine (prompt ids >= its vocabulary are folded into it).
    clock = new RunClock();
    backend = await WebGPUBackend.open({
      ...cfg.engine,
      clockOriginMs: clock.originMs,
    });
  } else {
    const apiKey = apiKeyFromEnv(cfg.apiKeyEnv);
    const models = await servedModels(cfg.url, { apiKey });
    served = cfg.model === undefined
      ? models[0]
      : models.find((m) => m.id === cfg.model);
    clock = new RunClock();
    const c = clock;
    backend = new OpenAIBackend({
      baseUrl: cfg.url,
      api: cfg.api,
      model: cfg.model ?? models[0]?.id,
      endpointKind: cfg.endpointKind === "auto"
        ? endpointKindFor(served)
        : cfg.endpointKind,
      apiKey,
      timeoutMs: cfg.timeoutMs,
      transport: cfg.transport,
      servedModel: served === undefined ? undefined : { ...served },
      tokenizer: cfg.tokenizer,
      ...cfg.timeouts,
      nowNs: () => c.nowNs(),
    });
  }
  let prepared;
  try {
    prepared = await prepareRequests(cfg, loaded.requests, served);
  } catch (e) {
    await backend.close();
    throw e;
  }
  const workload = { ...loaded.record, ...prepared.record };
  if (cfg.shard === undefined) {
    return await recordRun(
      cfg,
      backend,
      clock,
      prepared.requests,
      workload,
      runOptionsRecord(cfg),
    );
  }
  const shard = shardedRecording(cfg, prepared.requests, clock);
  return await recordRun(
    { ...cfg, load: shard.load, ...shard.hooks },
    backend,
    clock,
    shard.requests,
    workload,
    runOptionsRecord(cfg),
  );
}

/** Fits the requests to the served context and builds their prompts. */
async function prepareRequests(
  cfg: RunConfig,
  loadedRequests: readonly TraceRequest[],
  served: ServedModel | undefined,
): Promise<{ requests: TraceRequest[]; record: Record<string, unknown> }> {
  const vocabSize = servedVocab(cfg, served);
  let planned: TraceRequest[] = [...loadedRequests];
  let fitted: { maxModelLen: number; adjusted: number } | undefined;
  if (served?.maxModelLen !== undefined && cfg.fitContext === "scale") {
    const f = fitContext(planned, served.maxModelLen);
    planned = f.requests;
    fitted = { maxModelLen: served.maxModelLen, adjusted: f.adjusted };
    if (f.adjusted > 0 && !cfg.quiet) {
      console.error(
        `${f.adjusted} of ${planned.length} request(s) exceed the served context of ${served.maxModelLen} tokens (prompt + output, /v1/models max_model_len): ` +
          "their lengths are scaled down to fit, keeping the input/output ratio (--fit-context off sends them as planned)",
      );
    }
  }
  const prompts = await runPrompts(planned, {
    api: cfg.api,
    kind: cfg.prompt,
    vocabSize,
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
  return {
    requests,
    record: {
      fitContext: fitted ?? null,
      prompt: {
        kind: prompts.kind,
        lengths: prompts.lengths,
        approximateRequests: prompts.approximateRequests,
        vocabSize,
        vocabFrom: cfg.vocabSize !== undefined
          ? "--vocab-size"
          : served?.vocabSize !== undefined
          ? "/v1/models"
          : "default",
        tokenizer: cfg.tokenizer ?? null,
      },
      requests: requests.length,
    },
  };
}

/**
 * The endpoint kind for `--endpoint-kind auto`: from the served model's `owned_by`
 * (`kindFromOwner`: `vllm` for vLLM and tokentrace serve, `sglang`, `llamacpp`), else plain
 * `openai` (standard fields only).
 *
 * @example
 * ```ts
 * import { endpointKindFor } from "./run_command.ts";
 * console.log(endpointKindFor({ id: "m", ownedBy: "tokentrace" }), endpointKindFor(undefined)); // vllm openai
 * ```
 */
export function endpointKindFor(
  served: ServedModel | undefined,
): EndpointKind {
  return kindFromOwner(served?.ownedBy);
}

/**
 * The vocabulary prompt ids are drawn from: `--vocab-size`, else the served model's (as
 * `/v1/models` states it), else 32000. A `--vocab-size` above what the server states is refused.
 */
function servedVocab(cfg: RunConfig, served?: ServedModel): number {
  const stated = served?.vocabSize;
  if (cfg.vocabSize === undefined) return stated ?? 32000;
  if (stated !== undefined && cfg.vocabSize > stated) {
    throw new FlagError(
      "--vocab-size",
      String(cfg.vocabSize),
      `at most ${stated}, the vocabulary of ${
        served!.id
      } as ${cfg.url}/v1/models states it (ids at or above it are invalid there)`,
    );
  }
  return cfg.vocabSize;
}

/** Executes a run with signal handling and progress, then prints the summary. */
export async function recordRun(
  cfg:
    & Pick<RunConfig, "db" | "label" | "slo" | "json" | "quiet">
    & Partial<
      Pick<
        RunConfig,
        | "failurePolicy"
        | "warmupS"
        | "cooldownS"
        | "grouping"
        | "load"
        | "workers"
        | "maxErrorRate"
        | "summary"
        | "allowForeignDb"
      >
    >
    & StartHooks
    & {
      /** Leave the backend open for more runs (default: close it at the end). */
      keepBackend?: boolean;
    },
  backend: Backend,
  clock: RunClock,
  requests: Parameters<typeof executeRun>[0]["requests"],
  workload: unknown,
  /** `runs.options`: {@linkcode runOptionsRecord} of a `run`'s config. */
  options: unknown,
): Promise<RunCommandResult> {
  const ac = new AbortController();
  // A second signal: the run is marked aborted at once and the process exits.
  const force = new AbortController();
  let forcedCode: number = EXIT.sigint;
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => {
    const h = () => {
      const why = sig === "SIGTERM" && launcherGone()
        ? "SIGTERM (the launching process exited)"
        : sig;
      if (ac.signal.aborted) {
        if (force.signal.aborted) return;
        console.error(
          `\nSecond ${sig}: marking the run aborted and exiting now; requests in flight stay in_flight`,
        );
        forcedCode = signalExitCode(sig as "SIGINT" | "SIGTERM");
        force.abort(`${ac.signal.reason}; forced by a second ${sig}`);
        // Should the database not answer, exit anyway: its committed rows are kept.
        setTimeout(() => Deno.exit(forcedCode), 6_000);
        return;
      }
      console.error(
        `\n${sig}: stopping, cancelling requests in flight and flushing (again to force)`,
      );
      ac.abort(why);
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
  const start = cfg.placeStart?.();
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
      judgedBy: {
        slo: cfg.slo,
        failurePolicy: cfg.failurePolicy ?? DEFAULT_FAILURE_POLICY,
      },
      signal: ac.signal,
      forceSignal: force.signal,
      onForced: () => Deno.exit(forcedCode),
      load: cfg.load,
      workers,
      recorder: { allowForeignTables: cfg.allowForeignDb },
      onProgress: (p) => progress?.update(p),
      startNs: start?.startNs,
      indices: start?.indices,
    });
    progress?.done(result.replay.progress);
    await cfg.afterRun?.(result.runId);
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    if (!cfg.keepBackend) await backend.close();
  }
  // The summary decides the exit code too (no request succeeded, --max-error-rate).
  const store = await Store.open(cfg.db, {
    allowForeignTables: cfg.allowForeignDb,
  });
  let summary;
  try {
    await installViews(store);
    // A snapshot evaluates the views once over this run (fast on long runs: docs/perf.md).
    const snapshot = await openSnapshot(store, { runIds: [result.runId] });
    try {
      summary = await summarizeRun(snapshot, result.runId, cfg.slo, {
        failurePolicy: cfg.failurePolicy,
      });
    } finally {
      snapshot.close();
    }
  } finally {
    store.close();
  }
  if (cfg.json) {
    // exactly what `report --run <id> --format json` prints
    await reportCommand({ db: cfg.db, run: result.runId, format: "json" });
  } else if (!cfg.quiet && cfg.summary !== "none") {
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
    ? failure === null ? EXIT.ok : EXIT.failed
    : !bySignal
    ? EXIT.failed
    : signalExitCode(
      String(ac.signal.reason).startsWith("SIGTERM") ? "SIGTERM" : "SIGINT",
    );
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
