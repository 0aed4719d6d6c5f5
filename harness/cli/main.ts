/**
 * The tokentrace command line (commander). The only place that wires workloads, backends,
 * the runner and reports together.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { toolVersion } from "../provenance.ts";
import { benchCommand } from "./bench_command.ts";
import { addEngineCommands } from "./engine_command.ts";
import { FlagError } from "./flags.ts";
import { reportCommand } from "./report_command.ts";
import { parseRunConfig, runCommand } from "./run_command.ts";
import { scriptedServerCommand } from "./scripted_server_command.ts";

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
    .option("--trace <path>", "trace file (Azure LLM CSV or Mooncake JSONL)")
    .option(
      "--format <name>",
      "trace format: azure-llm | mooncake (default: detected)",
    )
    .option("--backend <kind>", "backend: openai", "openai")
    .option(
      "--url <url>",
      "server base URL, e.g. http://127.0.0.1:8000 (with or without /v1)",
    )
    .option("--api <api>", "completions | chat", "completions")
    .option("--model <name>", "model name (default: the first of /v1/models)")
    .option(
      "--endpoint-kind <kind>",
      "vllm | sglang | openai (vllm/sglang add ignore_eos, min_tokens)",
      "openai",
    )
    .option(
      "--api-key-env <var>",
      "environment variable holding the API key",
      "OPENAI_API_KEY",
    )
    .option("--timeout <s>", "per-request timeout in seconds", "600")
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
      "ids (token-id prompts of exact length) | text (approximate)",
      "ids",
    )
    .option("--vocab-size <n>", "token ids are drawn below this", "32000")
    .option("--db <path>", "result database", "results.duckdb")
    .option("--label <name>", "a name to find this run by")
    .option("--slo <spec>", "SLO for the summary, e.g. ttft=500,tpot=50 (ms)")
    .option("--json", "print the summary as JSON")
    .option("--quiet", "no progress line and no summary")
    .action(async (opts) => {
      const r = await runCommand(parseRunConfig(opts));
      exit(r.exitCode);
    });

  program.command("report")
    .description(
      "summarize a recorded run: latency percentiles, throughput, goodput",
    )
    .option("--db <path>", "result database", "results.duckdb")
    .option(
      "--run <id|label>",
      "run id, id prefix or label (default: the latest run)",
    )
    .option(
      "--slo <spec>",
      "SLO, e.g. ttft=500,tpot=50,e2e=10000 (ms; s suffix for seconds)",
    )
    .option("--format <fmt>", "table | json", "table")
    .action(async (opts) => {
      await reportCommand(opts);
      exit(0);
    });

  program.command("bench")
    .description("the default benchmark (deno task bench): no arguments needed")
    .option("--db <path>", "result database", "bench.duckdb")
    .option("--duration <s>", "seconds of replay", "30")
    .option(
      "--speedup <x>",
      "time scaling of the shipped Azure conversation excerpt",
      "4",
    )
    .option("--slo <spec>", "SLO for goodput", "ttft=200,tpot=20")
    .option("--json", "print the summary as JSON")
    .action(async (opts) => {
      const r = await benchCommand(opts);
      exit(r.exitCode);
    });

  addEngineCommands(program, exit);

  program.command("scripted-server")
    .description(
      "serve the scripted streaming server (known send times) until Ctrl-C",
    )
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option(
      "--port <n>",
      "port (0 picks a free one); the URL is printed on stdout",
      "0",
    )
    .option("--ttft-ms <ms>", "fixed part of the time to first token", "20")
    .option(
      "--ttft-per-token-ms <ms>",
      "time to first token added per prompt token",
      "0.02",
    )
    .option("--itl-ms <ms>", "gap between tokens", "10")
    .option("--fail-every <k>", "answer HTTP 500 to every k-th request")
    .option(
      "--send-log",
      "record send times and serve them at GET /_tokentrace/send_log",
    )
    .action(async (opts) => {
      await scriptedServerCommand(opts);
      exit(0);
    });

  return program;
}

/**
 * Runs the CLI with `args` (without the program name) and exits the process.
 *
 * Bad flags and bad input exit with status 2 and a one-line message; an aborted run exits
 * with 130 (SIGINT) or 143 (SIGTERM).
 */
export async function main(args: string[]): Promise<never> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  program.exitOverride();
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      Deno.exit(e.exitCode === 0 ? 0 : 2);
    }
    const err = e as Error;
    console.error(`tokentrace: error: ${err.message}`);
    if (Deno.env.get("TOKENTRACE_DEBUG")) console.error(err.stack);
    Deno.exit(e instanceof FlagError || err.name === "TraceError" ? 2 : 1);
  }
  Deno.exit(code);
}
