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
import { apiKeyFromEnv } from "../../adapters/openai/api_key.ts";
import {
  type EndpointKind,
  kindFromOwner,
} from "../../adapters/openai/endpoint_kinds.ts";
import type { Backend } from "../../adapters/backend.ts";
import { WebGPUBackend } from "../../adapters/webgpu/mod.ts";
import {
  assertPromptsPossible,
  fitContext,
  loadWorkload,
  type TraceRequest,
} from "../../workloads/mod.ts";
import {
  DEFAULT_FAILURE_POLICY,
  installViews,
  openSnapshot,
  renderTerminal,
  runFailure,
  runHeadline,
  summarizeRun,
} from "../../reports/mod.ts";
import { reportCommand } from "./report_command.ts";
import { runRepeated } from "./repeat_runs.ts";
import { msToNs, RunClock } from "../clock.ts";
import { autoWorkers } from "../parallel.ts";
import { executeRun } from "../run_session.ts";
import { Store } from "../store.ts";
import { shardedRecording, type StartHooks } from "./shard_run.ts";
import { FlagError } from "./flags.ts";
import { ProgressLine } from "./progress.ts";
import { launcherGone } from "./parent_watch.ts";
import { runPrompts, workloadNotes } from "./workload_flags.ts";
import type { RunCommandResult, RunConfig } from "./run_config.ts";

export type { RunCommandResult } from "./run_config.ts";

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
      sockets: cfg.sockets,
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
        | "pacingPriority"
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
        warmupNs: msToNs((cfg.warmupS ?? 0) * 1000),
        cooldownNs: msToNs((cfg.cooldownS ?? 0) * 1000),
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
      pacingPriority: cfg.pacingPriority,
      recorder: { allowForeignTables: cfg.allowForeignDb },
      onProgress: (p) => progress?.update(p),
      startNs: start?.startNs,
      indices: start?.indices,
    });
    progress?.done(result.replay.progress);
    if (result.pacingRefused && !cfg.quiet) {
      console.error(`Note: ${result.pacingRefused}`);
    }
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
  return {
    runId: result.runId,
    status: result.status,
    exitCode,
    pacingThread: result.pacingThread,
    pacingRefused: result.pacingRefused,
  };
}
