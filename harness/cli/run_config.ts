/**
 * `tokentrace run`'s configuration: its raw flags and their validation into a
 * {@linkcode RunConfig} (errors name the flag). The command itself is run_command.ts.
 *
 * @module
 */
import {
  apiKeyFromEnv,
  DEFAULT_API_KEY_ENV,
} from "../../adapters/openai/api_key.ts";
import {
  ENDPOINT_KINDS,
  type EndpointKind,
} from "../../adapters/openai/endpoint_kinds.ts";
import { type ServingEngineOptions } from "../../adapters/webgpu/mod.ts";
import { type EngineFlags, parseEngineFlags } from "./engine_flags.ts";
import { MIN_FREE_IDS, type WorkloadConfig } from "../../workloads/mod.ts";
import { type FailurePolicy, parseSlo, type Slo } from "../../reports/mod.ts";
import { type ExecuteRunOptions } from "../run_session.ts";
import type { ShardSpec } from "../shard.ts";
import { parseShardFlags } from "./shard_flags.ts";
import {
  asFlagError,
  FlagError,
  fraction,
  integerAtLeast,
  oneOf,
  positiveNumber,
  windowSpec,
} from "./flags.ts";
import {
  type LoadConfig,
  type LoadFlags,
  parseLoadFlags,
} from "./load_flags.ts";
import { parseWorkloadFlags, type WorkloadFlags } from "./workload_flags.ts";

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
  sockets?: string;
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
  /** The `h1` transport's sockets (adapters/openai/options.ts `sockets`). */
  sockets: "auto" | "native" | "deno";
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
 * import { parseRunConfig } from "./run_config.ts";
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
    sockets: oneOf(
      "--sockets",
      f.sockets ?? "auto",
      ["auto", "native", "deno"] as const,
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
  /** How the pacing thread ran (`ExecuteRunResult.pacingThread`), when a run was made. */
  pacingThread?: string;
  /** Why real-time pacing was refused, when it was wanted. */
  pacingRefused?: string;
}
