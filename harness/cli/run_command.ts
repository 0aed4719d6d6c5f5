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
  firstN,
  readTrace,
  scaleTime,
  synthesizePrompts,
  timeWindow,
} from "../../workloads/mod.ts";
import {
  installViews,
  parseSlo,
  renderJson,
  renderTerminal,
  type Slo,
  summarizeRun,
} from "../../reports/mod.ts";
import { RunClock } from "../clock.ts";
import { executeRun } from "../run_session.ts";
import { Store } from "../store.ts";
import {
  FlagError,
  integerAtLeast,
  oneOf,
  positiveNumber,
  windowSpec,
} from "./flags.ts";
import { ProgressLine } from "./progress.ts";

/** Raw `run` flags as commander gives them. */
export interface RunFlags {
  trace?: string;
  format?: string;
  backend: string;
  url?: string;
  api: string;
  model?: string;
  endpointKind: string;
  apiKeyEnv: string;
  timeout: string;
  speedup: string;
  window?: string;
  maxRequests?: string;
  prompt: string;
  vocabSize: string;
  db: string;
  label?: string;
  slo?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The validated configuration of a run. */
export interface RunConfig {
  trace: string;
  format?: string;
  backend: "openai";
  url: string;
  api: "completions" | "chat";
  model?: string;
  endpointKind: "vllm" | "sglang" | "openai";
  apiKeyEnv: string;
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
  if (!f.trace) {
    throw new FlagError("--trace", f.trace ?? "", "a trace file path");
  }
  const backend = oneOf("--backend", f.backend, ["openai"] as const);
  if (!f.url) {
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
      "text with --api chat (chat endpoints take messages, not token ids); pass --prompt text, " +
        "which approximates lengths with one word per token and reports the drift",
    );
  }
  return {
    trace: f.trace,
    format: f.format,
    backend,
    url: f.url,
    api,
    model: f.model,
    endpointKind: oneOf(
      "--endpoint-kind",
      f.endpointKind,
      ["vllm", "sglang", "openai"] as const,
    ),
    apiKeyEnv: f.apiKeyEnv,
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
  const trace = await readTrace(cfg.trace, { format: cfg.format });
  let requests = trace.requests;
  if (cfg.window) {
    requests = timeWindow(requests, cfg.window.startMs, cfg.window.durationMs);
  }
  if (cfg.maxRequests !== undefined) {
    requests = firstN(requests, cfg.maxRequests);
  }
  requests = scaleTime(requests, cfg.speedup);
  requests = synthesizePrompts(requests, {
    kind: cfg.prompt,
    vocabSize: cfg.vocabSize,
  });
  if (requests.length === 0) {
    throw new Error(
      `Trace "${cfg.trace}" has no requests after the window and limits: widen --window or --max-requests`,
    );
  }

  const apiKey = apiKeyFromEnv(cfg.apiKeyEnv);
  const models = await checkReachable(cfg.url, { apiKey });
  const clock = new RunClock();
  const backend: Backend = new OpenAIBackend({
    baseUrl: cfg.url,
    api: cfg.api,
    model: cfg.model ?? models[0],
    endpointKind: cfg.endpointKind,
    apiKey,
    timeoutMs: cfg.timeoutMs,
    nowNs: () => clock.nowNs(),
  });
  return await recordRun(cfg, backend, clock, requests, {
    source: trace.source,
    transforms: {
      window: cfg.window ?? null,
      maxRequests: cfg.maxRequests ?? null,
      speedup: cfg.speedup,
    },
    prompt: { kind: cfg.prompt, vocabSize: cfg.vocabSize },
    requests: requests.length,
  });
}

/** Executes a run with signal handling and progress, then prints the summary. */
export async function recordRun(
  cfg: Pick<RunConfig, "db" | "label" | "slo" | "json" | "quiet">,
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
      signal: ac.signal,
      onProgress: (p) => progress?.update(p),
    });
    progress?.done(result.replay.progress);
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    await backend.close();
  }
  if (cfg.json || !cfg.quiet) {
    const store = await Store.open(cfg.db);
    try {
      await installViews(store);
      const summary = await summarizeRun(store, result.runId, cfg.slo);
      console.log(cfg.json ? renderJson(summary) : renderTerminal(summary));
    } finally {
      store.close();
    }
  }
  const exitCode = result.status === "completed"
    ? 0
    : String(ac.signal.reason) === "SIGTERM"
    ? 143
    : 130;
  if (result.status === "aborted") {
    console.error(
      `Run ${result.runId} aborted by ${ac.signal.reason}: its rows are in ${cfg.db}, marked aborted`,
    );
  }
  return { runId: result.runId, status: result.status, exitCode };
}
