/**
 * The CLI options shared by several commands, each declared once: the `run` options (inherited by
 * `sweep`, parsed from a suite scenario's arguments) and the built-in engine's options (also
 * taken by `serve`). A command adds the options it takes with {@linkcode addOptions}.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { ENGINE_FLAG_HELP } from "./engine_flags.ts";
import { FlagError } from "./flags.ts";
import type { RunFlags } from "./run_config.ts";

/** One option as commander's `.option()` takes it: flags, description and an optional default. */
export type OptionSpec = readonly [
  flags: string,
  description: string,
  defaultValue?: string,
];

/** The built-in engine's options (`run --backend webgpu`, `serve`). */
export const ENGINE_OPTIONS: readonly OptionSpec[] = [
  ["--policy <name>", ENGINE_FLAG_HELP.policy],
  ["--attention <mode>", ENGINE_FLAG_HELP.attention],
  ["--token-budget <n>", ENGINE_FLAG_HELP.tokenBudget],
  ["--tbt-slo <ms>", ENGINE_FLAG_HELP.tbtSlo],
  ["--max-seqs <n>", ENGINE_FLAG_HELP.maxSeqs],
  ["--kv-blocks <n>", ENGINE_FLAG_HELP.kvBlocks],
  ["--max-context <n>", ENGINE_FLAG_HELP.maxContext],
  ["--steps-in-flight <n>", ENGINE_FLAG_HELP.stepsInFlight],
  ["--dtype <dtype>", ENGINE_FLAG_HELP.dtype],
  ["--no-prefix-cache", ENGINE_FLAG_HELP.prefixCache],
];

/** The options of `tokentrace run`, in the order `run --help` lists them. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  ["--trace <path>", "trace file (same as --workload with a path)"],
  ["--workload <name|path>", "catalog name (see workloads list) or trace file"],
  [
    "--synthetic <spec>",
    "synthetic workload, e.g. n=1000,arrival=gamma:5:2,input=lognormal:1000:0.6,output=uniform:50:300[,turns=..,think=..]",
  ],
  ["--trace-dir <dir>", "folder that already holds trace files"],
  ["--cache-dir <dir>", "download cache of workloads fetch"],
  [
    "--format <name>",
    "azure-llm | burstgpt | mooncake | sharegpt | vllm-custom | vidur | generic (default: detected)",
  ],
  [
    "--columns <map>",
    "generic format: time=<col>,input=<col>,output=<col>[,session=..,hash_ids=..]",
  ],
  ["--time-unit <unit>", "generic format: s | ms | us | ns | datetime"],
  ["--block-size <n>", "tokens per hash block (default 512)"],
  ["--filter-model <names>", "BurstGPT: keep these Model values"],
  ["--filter-log-type <types>", "BurstGPT: keep these Log Type values"],
  ["--sort-by-time", "sort records by time instead of refusing unsorted ones"],
  [
    "--keep-source-failures",
    "replay requests the trace marks failed (BurstGPT 0 response tokens)",
  ],
  ["--on-bad-row <policy>", "error | skip (skipped rows are counted)"],
  ["--sharegpt <mode>", "first-turn | sessions"],
  [
    "--output-tokens <n>",
    "output length where the trace has none (default 256)",
  ],
  [
    "--arrival <spec>",
    "arrivals for untimed traces: poisson:R | gamma:R:CV | constant:R | onoff:R:ON_S:OFF_S",
  ],
  [
    "--rate <rps>",
    "scale time to this mean rate, keeping the inter-arrival shape",
  ],
  ["--sample <n|fraction>", "keep a seeded random sample of requests"],
  ["--sample-sessions", "sample whole sessions"],
  ["--min-input <n>", "drop requests with fewer input tokens"],
  ["--max-input <n>", "drop requests with more input tokens"],
  ["--min-output <n>", "drop requests with fewer output tokens"],
  ["--max-output <n>", "drop requests with more output tokens"],
  ["--cap-input <n>", "clip input lengths to n tokens"],
  ["--cap-output <n>", "clip output lengths to n tokens"],
  ["--compress-idle <s>", "shorten gaps between arrivals to at most s"],
  ["--seed <n>", "seed of sampling, arrivals and prompts", "0"],
  [
    "--tokenizer <path>",
    "the served model's tokenizer.json (tokenizer_config.json beside it for the chat template): text prompts of verified length, chat template counted; also counts the tokens of chunks that do not say how many they carry",
  ],
  [
    "--allow-approx-length",
    "without a tokenizer, send approximate text prompts and report the drift",
  ],
  ["--backend <kind>", "backend: openai | webgpu (built-in engine)", "openai"],
  ...ENGINE_OPTIONS,
  [
    "--url <url>",
    "server base URL, e.g. http://127.0.0.1:8000 (with or without /v1)",
  ],
  ["--api <api>", "completions | chat", "completions"],
  [
    "--model <name>",
    "openai: model name (default: the first of /v1/models); webgpu: checkpoint folder or preset (default tiny)",
  ],
  [
    "--endpoint-kind <kind>",
    "auto | vllm | sglang | llamacpp | transformers | openai | strict (vllm/sglang: ignore_eos, min_tokens, usage per chunk; llamacpp: ignore_eos, timings_per_token; transformers: generation_config; openai: standard fields; strict: reference fields only, max_completion_tokens on chat); auto: from /v1/models owned_by (vLLM and tokentrace serve: vllm; sglang; llamacpp), else openai",
    "auto",
  ],
  [
    "--transport <kind>",
    "auto | h1 (own HTTP/1.1 client, http:// only) | fetch; auto: h1 for http:// without a proxy",
    "auto",
  ],
  [
    "--sockets <kind>",
    "h1's sockets: auto | native (libc; token times from the kernel's receive time; Linux, numeric host or localhost) | deno (Deno.connect; times taken when a read returns); auto: native where it can be",
    "auto",
  ],
  [
    "--api-key-env <var>",
    "environment variable holding the API key (default: OPENAI_API_KEY when set; a named variable must be set)",
  ],
  ["--timeout <s>", "per-request timeout in seconds", "600"],
  ["--connect-timeout <s>", "limit until the response headers (seconds)"],
  [
    "--first-token-timeout <s>",
    "limit from sending to the first token (seconds)",
  ],
  ["--idle-timeout <s>", "limit between consecutive chunks (seconds)"],
  ["--users <n>", "closed loop: n users, each sends after its previous reply"],
  [
    "--think <s>",
    "closed loop: think time between a reply and the next request",
  ],
  [
    "--concurrency <n>",
    "at most n requests in flight; the rest queue (wait recorded)",
  ],
  [
    "--ramp-up <spec>",
    "linear:<s> or stepped:<s>[:<steps>] rise of the offered load",
  ],
  [
    "--duration <s>",
    "send only requests planned within this many seconds (requests in flight finish)",
  ],
  ["--max-sent <n>", "stop sending after n requests"],
  ["--cancel-rate <x>", "cancel this seeded fraction of requests on purpose"],
  ["--cancel-after <s>", "... this long after sending them", "0"],
  ["--stop-after-errors <n>", "stop the run once n requests failed"],
  [
    "--stop-error-rate <x:s>",
    "stop when the failed fraction in a window passes x",
  ],
  [
    "--retries <n>",
    "retry failed requests up to n times (off by default; recorded)",
  ],
  ["--retry-backoff <s>", "pause before a retry", "1"],
  [
    "--workers <n>",
    "spread sending and stream reading over n worker threads, or auto (by the planned rate and the cores)",
    "auto",
  ],
  [
    "--pacing-priority <p>",
    "auto (real-time pacing against the built-in engine) | realtime | normal",
    "auto",
  ],
  [
    "--sessions",
    "multi-turn: send each turn after the previous reply + the trace's delay",
  ],
  ["--speedup <x>", "time scaling: 2 replays the trace at twice its rate", "1"],
  [
    "--window <start:dur>",
    "only requests arriving in this window of the trace (seconds)",
  ],
  ["--max-requests <n>", "replay at most the first n requests"],
  [
    "--prompt <kind>",
    "ids (token-id prompts of exact length) | text (exact with --tokenizer)",
    "ids",
  ],
  [
    "--vocab-size <n>",
    "token ids are drawn below this (default: the served model's, else 32000)",
  ],
  [
    "--fit-context <mode>",
    "requests over the served context (prompt + output): scale (shrink both, keeping the ratio) | off",
    "scale",
  ],
  ["--db <path>", "result database", "results.duckdb"],
  [
    "--allow-foreign-db",
    "write into a --db file that holds tables tokentrace does not own (refused by default)",
  ],
  ["--label <name>", "a name to find this run by"],
  ["--slo <spec>", "SLO for the summary, e.g. ttft=500,tpot=50 (ms)"],
  ["--json", "print the report as JSON (exactly report --format json)"],
  ["--quiet", "no progress line and no summary"],
  [
    "--repeat <n>",
    "record n runs of this configuration as one group (compare uses their spread)",
  ],
  [
    "--max-error-rate <x>",
    "exit 1 when more than this fraction of sent requests failed (always when none succeeded)",
  ],
  [
    "--warmup <s>",
    "measurement window: leave out requests that end in the first s seconds (recorded)",
  ],
  [
    "--cooldown <s>",
    "measurement window: leave out requests that end in the last s seconds (recorded)",
  ],
  [
    "--suite <file>",
    "run every scenario of a suite file (JSON or YAML); --db and --quiet apply to all",
  ],
  [
    "--shard <i/N>",
    "send only shard i's share of the plan (0-based; whole sessions), with --start-at; join the shards with merge",
  ],
  [
    "--start-at <time>",
    "the shards' shared start: epoch seconds or ISO 8601 with a zone, the same for every shard",
  ],
];

/** The description of `tokentrace run`. */
export const RUN_DESCRIPTION =
  "replay a trace against an OpenAI-compatible endpoint into a result database";

/** The long flag of a spec (`--no-prefix-cache`, `--db`): what `except` lists name. */
export function longFlag(spec: OptionSpec): string {
  return spec[0].split(/[ ,]/)[0];
}

/**
 * Adds `specs` to `cmd`, leaving out the long flags in `except`.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { addOptions, ENGINE_OPTIONS } from "./option_sets.ts";
 * const cmd = addOptions(new Command("x"), ENGINE_OPTIONS, new Set(["--dtype"]));
 * console.log(cmd.options.length, ENGINE_OPTIONS.length); // 9 10
 * ```
 */
export function addOptions<C extends Command>(
  cmd: C,
  specs: readonly OptionSpec[],
  except: ReadonlySet<string> = new Set(),
): C {
  // commander's typed overloads cannot follow a list: the options are added untyped, and the
  // command's action casts its options to the flags interface (RunFlags, ServeFlags).
  const untyped = cmd as unknown as {
    option(flags: string, description: string, defaultValue?: string): unknown;
  };
  for (const s of specs) {
    if (except.has(longFlag(s))) continue;
    if (s[2] === undefined) untyped.option(s[0], s[1]);
    else untyped.option(s[0], s[1], s[2]);
  }
  return cmd;
}

/**
 * Reads `args` with the options of `run` (a fresh command per call: commander keeps parsed
 * values on the command), e.g. a suite scenario's settings. Unknown options or stray arguments
 * are errors.
 *
 * @example
 * ```ts
 * import { runFlagsFrom } from "./option_sets.ts";
 * const f = runFlagsFrom(["--workload", "t.csv", "--rate", "4"]);
 * console.log(f.workload, f.rate, f.db); // t.csv 4 results.duckdb
 * ```
 */
export function runFlagsFrom(args: string[]): RunFlags {
  const run = addOptions(new Command("run"), RUN_OPTIONS);
  run.exitOverride();
  run.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const { operands, unknown } = run.parseOptions(args);
  if (unknown.length > 0 || operands.length > 0) {
    throw new FlagError(
      "(run flags)",
      [...operands, ...unknown].join(" "),
      "options of tokentrace run (see tokentrace run --help)",
    );
  }
  return run.opts() as unknown as RunFlags;
}
