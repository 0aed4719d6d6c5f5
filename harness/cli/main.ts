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
import { addServeCommand } from "./serve_command.ts";
import { UsageError } from "../../workloads/base/usage_error.ts";
import { EXIT } from "./exit_codes.ts";
import { addCompareCommand } from "./compare_command.ts";
import { addDashboardCommand } from "./dashboard_command.ts";
import { addExportCommand } from "./export_command.ts";
import { addMergeCommand } from "./merge_command.ts";
import { reportCommand } from "./report_command.ts";
import { suiteRunCommand } from "./suite_command.ts";
import { addSweepCommand } from "./sweep_command.ts";
import {
  addOptions,
  RUN_DESCRIPTION,
  RUN_OPTIONS,
  runFlagsFrom,
} from "./option_sets.ts";
import { runCommand } from "./run_command.ts";
import { parseRunConfig, type RunFlags } from "./run_config.ts";
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

  addOptions(
    program.command("run").description(RUN_DESCRIPTION),
    RUN_OPTIONS,
  ).action(async (opts) => {
    const f = opts as unknown as RunFlags;
    if (f.suite !== undefined) {
      const s = await suiteRunCommand(
        f.suite,
        { db: f.db, quiet: f.quiet, json: f.json },
        runFlagsFrom,
      );
      exit(s.exitCode);
      return;
    }
    const r = await runCommand(parseRunConfig(f));
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
      "--pacing-priority <p>",
      "the sending and reading thread's scheduling, as `run --pacing-priority`",
      "auto",
    )
    .option(
      "--sockets <kind>",
      "the client's sockets, as `run --sockets`",
      "auto",
    )
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
