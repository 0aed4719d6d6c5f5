/**
 * The tokentrace command line (commander). The only place that wires workloads, backends,
 * the runner and reports together.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { toolVersion } from "../provenance.ts";
import { benchCommand } from "./bench_command.ts";
import { calibrateCommand } from "./calibrate_command.ts";
import { addEngineCommands } from "./engine_command.ts";
import { ENGINE_FLAG_HELP } from "./engine_flags.ts";
import { addServeCommand } from "./serve_command.ts";
import { UsageError } from "../../workloads/usage_error.ts";
import { EXIT } from "./exit_codes.ts";
import { addCompareCommand } from "./compare_command.ts";
import { addDashboardCommand } from "./dashboard_command.ts";
import { addExportCommand } from "./export_command.ts";
import { addMergeCommand } from "./merge_command.ts";
import { reportCommand } from "./report_command.ts";
import { suiteRunCommand } from "./suite_command.ts";
import { addSweepCommand, runFlagsFrom } from "./sweep_command.ts";
import { parseRunConfig, runCommand } from "./run_command.ts";
import { addScriptedServerCommand } from "./scripted_server_command.ts";
import { addWorkloadsCommands } from "./workloads_command.ts";
import { watchParent } from "./parent_watch.ts";

/** Builds the program; `exit` receives the process exit code of a command. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command()
    .name("tokentrace")
    .description(
      "Replay LLM workload traces against serving backends, record every streamed token in DuckDB, report goodput.",
    )
    .version(toolVersion())
    .showHelpAfterError("(run with --help for usage)");

  program.command("run")
    .description(
      "replay a trace against an OpenAI-compatible endpoint into a result database",
    )
    .option("--trace <path>", "trace file (same as --workload with a path)")
    .option(
      "--workload <name|path>",
      "catalog name (see workloads list) or trace file",
    )
    .option(
      "--synthetic <spec>",
      "synthetic workload, e.g. n=1000,arrival=gamma:5:2,input=lognormal:1000:0.6,output=uniform:50:300[,turns=..,think=..]",
    )
    .option("--trace-dir <dir>", "folder that already holds trace files")
    .option("--cache-dir <dir>", "download cache of workloads fetch")
    .option(
      "--format <name>",
      "azure-llm | burstgpt | mooncake | sharegpt | vllm-custom | vidur | generic (default: detected)",
    )
    .option(
      "--columns <map>",
      "generic format: time=<col>,input=<col>,output=<col>[,session=..,hash_ids=..]",
    )
    .option("--time-unit <unit>", "generic format: s | ms | us | ns | datetime")
    .option("--block-size <n>", "tokens per hash block (default 512)")
    .option("--filter-model <names>", "BurstGPT: keep these Model values")
    .option("--filter-log-type <types>", "BurstGPT: keep these Log Type values")
    .option(
      "--sort-by-time",
      "sort records by time instead of refusing unsorted ones",
    )
    .option(
      "--keep-source-failures",
      "replay requests the trace marks failed (BurstGPT 0 response tokens)",
    )
    .option("--on-bad-row <policy>", "error | skip (skipped rows are counted)")
    .option("--sharegpt <mode>", "first-turn | sessions")
    .option(
      "--output-tokens <n>",
      "output length where the trace has none (default 256)",
    )
    .option(
      "--arrival <spec>",
      "arrivals for untimed traces: poisson:R | gamma:R:CV | constant:R | onoff:R:ON_S:OFF_S",
    )
    .option(
      "--rate <rps>",
      "scale time to this mean rate, keeping the inter-arrival shape",
    )
    .option(
      "--sample <n|fraction>",
      "keep a seeded random sample of requests",
    )
    .option("--sample-sessions", "sample whole sessions")
    .option("--min-input <n>", "drop requests with fewer input tokens")
    .option("--max-input <n>", "drop requests with more input tokens")
    .option("--min-output <n>", "drop requests with fewer output tokens")
    .option("--max-output <n>", "drop requests with more output tokens")
    .option("--cap-input <n>", "clip input lengths to n tokens")
    .option("--cap-output <n>", "clip output lengths to n tokens")
    .option("--compress-idle <s>", "shorten gaps between arrivals to at most s")
    .option("--seed <n>", "seed of sampling, arrivals and prompts", "0")
    .option(
      "--tokenizer <path>",
      "the served model's tokenizer.json (tokenizer_config.json beside it for the chat template): text prompts of verified length, chat template counted; also counts the tokens of chunks that do not say how many they carry",
    )
    .option(
      "--allow-approx-length",
      "without a tokenizer, send approximate text prompts and report the drift",
    )
    .option(
      "--backend <kind>",
      "backend: openai | webgpu (built-in engine)",
      "openai",
    )
    .option("--policy <name>", ENGINE_FLAG_HELP.policy)
    .option("--attention <mode>", ENGINE_FLAG_HELP.attention)
    .option("--token-budget <n>", ENGINE_FLAG_HELP.tokenBudget)
    .option("--tbt-slo <ms>", ENGINE_FLAG_HELP.tbtSlo)
    .option("--max-seqs <n>", ENGINE_FLAG_HELP.maxSeqs)
    .option("--kv-blocks <n>", ENGINE_FLAG_HELP.kvBlocks)
    .option("--max-context <n>", ENGINE_FLAG_HELP.maxContext)
    .option("--steps-in-flight <n>", ENGINE_FLAG_HELP.stepsInFlight)
    .option("--dtype <dtype>", ENGINE_FLAG_HELP.dtype)
    .option("--no-prefix-cache", ENGINE_FLAG_HELP.prefixCache)
    .option(
      "--url <url>",
      "server base URL, e.g. http://127.0.0.1:8000 (with or without /v1)",
    )
    .option("--api <api>", "completions | chat", "completions")
    .option(
      "--model <name>",
      "openai: model name (default: the first of /v1/models); webgpu: checkpoint folder or preset (default tiny)",
    )
    .option(
      "--endpoint-kind <kind>",
      "auto | vllm | sglang | llamacpp | transformers | openai | strict (vllm/sglang: ignore_eos, min_tokens, usage per chunk; llamacpp: ignore_eos, timings_per_token; transformers: generation_config; openai: standard fields; strict: reference fields only, max_completion_tokens on chat); auto: from /v1/models owned_by (vLLM and tokentrace serve: vllm; sglang; llamacpp), else openai",
      "auto",
    )
    .option(
      "--transport <kind>",
      "auto | h1 (own HTTP/1.1 client, http:// only) | fetch; auto: h1 for http:// without a proxy",
      "auto",
    )
    .option(
      "--api-key-env <var>",
      "environment variable holding the API key (default: OPENAI_API_KEY when set; a named variable must be set)",
    )
    .option("--timeout <s>", "per-request timeout in seconds", "600")
    .option(
      "--connect-timeout <s>",
      "limit until the response headers (seconds)",
    )
    .option(
      "--first-token-timeout <s>",
      "limit from sending to the first token (seconds)",
    )
    .option("--idle-timeout <s>", "limit between consecutive chunks (seconds)")
    .option(
      "--users <n>",
      "closed loop: n users, each sends after its previous reply",
    )
    .option(
      "--think <s>",
      "closed loop: think time between a reply and the next request",
    )
    .option(
      "--concurrency <n>",
      "at most n requests in flight; the rest queue (wait recorded)",
    )
    .option(
      "--ramp-up <spec>",
      "linear:<s> or stepped:<s>[:<steps>] rise of the offered load",
    )
    .option(
      "--duration <s>",
      "stop sending after this many seconds (requests in flight finish)",
    )
    .option("--max-sent <n>", "stop sending after n requests")
    .option(
      "--cancel-rate <x>",
      "cancel this seeded fraction of requests on purpose",
    )
    .option("--cancel-after <s>", "... this long after sending them", "0")
    .option("--stop-after-errors <n>", "stop the run once n requests failed")
    .option(
      "--stop-error-rate <x:s>",
      "stop when the failed fraction in a window passes x",
    )
    .option(
      "--retries <n>",
      "retry failed requests up to n times (off by default; recorded)",
    )
    .option("--retry-backoff <s>", "pause before a retry", "1")
    .option(
      "--workers <n>",
      "spread sending and stream reading over n worker threads, or auto (by the planned rate and the cores)",
      "auto",
    )
    .option(
      "--sessions",
      "multi-turn: send each turn after the previous reply + the trace's delay",
    )
    .option(
      "--speedup <x>",
      "time scaling: 2 replays the trace at twice its rate",
      "1",
    )
    .option(
      "--window <start:dur>",
      "only requests arriving in this window of the trace (seconds)",
    )
    .option("--max-requests <n>", "replay at most the first n requests")
    .option(
      "--prompt <kind>",
      "ids (token-id prompts of exact length) | text (exact with --tokenizer)",
      "ids",
    )
    .option(
      "--vocab-size <n>",
      "token ids are drawn below this (default: the served model's, else 32000)",
    )
    .option(
      "--fit-context <mode>",
      "requests over the served context (prompt + output): scale (shrink both, keeping the ratio) | off",
      "scale",
    )
    .option("--db <path>", "result database", "results.duckdb")
    .option(
      "--allow-foreign-db",
      "write into a --db file that holds tables tokentrace does not own (refused by default)",
    )
    .option("--label <name>", "a name to find this run by")
    .option("--slo <spec>", "SLO for the summary, e.g. ttft=500,tpot=50 (ms)")
    .option(
      "--json",
      "print the report as JSON (exactly report --format json)",
    )
    .option("--quiet", "no progress line and no summary")
    .option(
      "--repeat <n>",
      "record n runs of this configuration as one group (compare uses their spread)",
    )
    .option(
      "--max-error-rate <x>",
      "exit 1 when more than this fraction of sent requests failed (always when none succeeded)",
    )
    .option(
      "--warmup <s>",
      "measurement window: leave out requests that end in the first s seconds (recorded)",
    )
    .option(
      "--cooldown <s>",
      "measurement window: leave out requests that end in the last s seconds (recorded)",
    )
    .option(
      "--suite <file>",
      "run every scenario of a suite file (JSON or YAML); --db and --quiet apply to all",
    )
    .option(
      "--shard <i/N>",
      "send only shard i's share of the plan (0-based; whole sessions), with --start-at; join the shards with merge",
    )
    .option(
      "--start-at <time>",
      "the shards' shared start: epoch seconds or ISO 8601 with a zone, the same for every shard",
    )
    .action(async (opts) => {
      if (opts.suite !== undefined) {
        const s = await suiteRunCommand(
          opts.suite,
          { db: opts.db, quiet: opts.quiet, json: opts.json },
          (args) => runFlagsFrom(buildProgram(() => {}), args),
        );
        exit(s.exitCode);
        return;
      }
      const r = await runCommand(parseRunConfig(opts));
      exit(r.exitCode);
    });

  program.command("report")
    .description(
      "summarize a recorded run: latency percentiles, throughput, goodput",
    )
    .option(
      "--db <path>",
      "result database, or a results store folder (tokentrace export)",
      "results.duckdb",
    )
    .option(
      "--run <id|label>",
      "run id, id prefix or label (default: the latest run)",
    )
    .option(
      "--slo <spec>",
      "SLO, e.g. ttft=500,tpot=50,e2e=10000 (ms; s suffix for seconds)",
    )
    .option(
      "--failure-policy <p>",
      "which requests count toward attainment: count-errors (default) | exclude-errors | count-all",
    )
    .option(
      "--format <fmt>",
      "table | md | json | junit | html | csv (a row per request) | parquet (a row per token, --out)",
      "table",
    )
    .option("--out <file>", "write the report to this file instead of stdout")
    .action(async (opts) => {
      await reportCommand(opts);
      exit(0);
    });

  program.command("bench")
    .description(
      "the default benchmark (deno task bench): the built-in engine's goodput capacity at an SLO",
    )
    .option("--db <path>", "result database", "bench.duckdb")
    .option("--slo <spec>", "SLO for goodput", "ttft=1000,tpot=100")
    .option(
      "--backend <kind>",
      "webgpu (built-in engine, tiny preset: capacity) | scripted (scripted server: one replay)",
      "webgpu",
    )
    .option(
      "--capacity <pct>",
      "built-in engine: capacity at this attainment (%)",
      "90",
    )
    .option(
      "--service-seconds <s>",
      "built-in engine: seconds of the closed-loop service-rate run",
      "10",
    )
    .option(
      "--point-seconds <s>",
      "built-in engine: seconds of arrivals per rate point",
      "15",
    )
    .option("--points <n>", "built-in engine: rate points at most", "4")
    .option(
      "--length-scale <x>",
      "built-in engine: divide the trace's lengths by x (tiny model, CPU adapter)",
      "8",
    )
    .option("--duration <s>", "scripted: seconds of replay", "90")
    .option(
      "--speedup <x>",
      "scripted: time scaling of the shipped Azure conversation excerpt",
      "1",
    )
    .option("--html <path>", "HTML report (default: the database path, .html)")
    .option("--json", "print the summary as JSON")
    .action(async (opts) => {
      const r = await benchCommand(opts);
      exit(r.exitCode);
    });

  addEngineCommands(program, exit);
  addServeCommand(program, exit);
  addWorkloadsCommands(program, exit);
  addSweepCommand(program, exit);
  addCompareCommand(program, exit);
  addDashboardCommand(program, exit);
  addMergeCommand(program, exit);
  addExportCommand(program, exit);

  program.command("calibrate")
    .description(
      "measure the harness's own error against the scripted server (stored in the db)",
    )
    .option("--rate <r>", "requests per second, open loop", "20")
    .option("--tokens <n>", "output tokens per request", "50")
    .option("--itl-ms <ms>", "the scripted server's gap between tokens", "10")
    .option("--ttft-ms <ms>", "the scripted server's time to first token", "20")
    .option("--duration <s>", "seconds of load", "10")
    .option("--workers <n>", "sender threads, as `run --workers`", "auto")
    .option(
      "--db <path>",
      "result database (the calibration is stored there)",
      "results.duckdb",
    )
    .option("--json", "print the result as JSON")
    .option("--quiet", "no progress line")
    .action(async (opts) => {
      await calibrateCommand(opts);
      exit(0);
    });

  addScriptedServerCommand(program, exit);

  return program;
}

/**
 * Runs the CLI with `args` (without the program name) and exits the process.
 *
 * Bad flags and bad input (every `UsageError`) exit with status 2 and a one-line message; an
 * aborted run exits with 130 (SIGINT) or 143 (SIGTERM, also when the launching process exits):
 * {@linkcode EXIT} lists them.
 */
export async function main(args: string[]): Promise<never> {
  // The CLI ends when its launcher dies (a run is marked aborted): see parent_watch.ts.
  watchParent();
  let code = 0;
  const program = buildProgram((c) => (code = c));
  // Every command, not only the program: commander's own errors in a subcommand (an unknown
  // option, a missing value) would otherwise exit 1 by themselves.
  const override = (c: Command) => {
    c.exitOverride();
    for (const sub of c.commands) override(sub as Command);
  };
  override(program);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      Deno.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    const err = e as Error;
    console.error(`tokentrace: error: ${err.message}`);
    if (Deno.env.get("TOKENTRACE_DEBUG")) console.error(err.stack);
    Deno.exit(e instanceof UsageError ? e.exitCode : EXIT.failed);
  }
  Deno.exit(code);
}
