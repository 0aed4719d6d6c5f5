/**
 * Suites for scheduled regression runs: a JSON or YAML file naming scenarios (workload, backend,
 * run options, SLO, gates), validated with zod; `tokentrace run --suite <file>` runs them all
 * into one database under the suite's label (compare them with `tokentrace compare --suite`).
 *
 * File shape (YAML shown; JSON is the same structure):
 *
 * ```yaml
 * suite: nightly                 # the label runs are grouped by (runs.suite)
 * defaults:                      # tokentrace run options for every scenario (without "--")
 *   url: http://127.0.0.1:8000
 *   endpoint-kind: vllm
 * scenarios:
 *   - name: conv-4x              # letters, digits, . _ -; unique
 *     run: { workload: azure-conv-2023, speedup: 4, max-requests: 200 }
 *     slo: ttft=500,tpot=50      # judged in the summary and by compare's goodput
 *     gates: p99_ttft:+10%,goodput:-5%
 *     failure_policy: count-errors
 *     warmup: 5                  # seconds
 *     cooldown: 5
 *     repeat: 3                  # runs recorded as one group (default: the suite's, else 1)
 * repeat: 3                      # for every scenario (compare --suite uses their spread)
 * ```
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseFailurePolicy, parseGates, parseSlo } from "../../reports/mod.ts";
import { runCommand, type RunCommandResult } from "./run_command.ts";
import { parseRunConfig, type RunConfig, type RunFlags } from "./run_config.ts";

const OptionValue = z.union([z.string(), z.number(), z.boolean()]);
const OptionMap = z.record(
  z.string().regex(
    /^[a-z][a-z0-9-]*$/,
    "option names are run flags without the leading --, e.g. max-requests",
  ),
  OptionValue,
);

/** Run options a suite sets itself; a scenario may not. */
const RESERVED = [
  "db",
  "label",
  "suite",
  "json",
  "quiet",
  "slo",
  "warmup",
  "cooldown",
  "repeat",
];

const ScenarioSchema = z.object({
  name: z.string().regex(
    /^[A-Za-z0-9._-]+$/,
    "a scenario name is letters, digits, '.', '_' or '-'",
  ),
  run: OptionMap.default({}),
  slo: z.string().optional(),
  gates: z.string().optional(),
  failure_policy: z.string().optional(),
  warmup: z.number().nonnegative().optional(),
  cooldown: z.number().nonnegative().optional(),
  repeat: z.number().int().min(1).optional(),
}).strict();

const SuiteSchema = z.object({
  suite: z.string().min(1),
  defaults: OptionMap.default({}),
  repeat: z.number().int().min(1).optional(),
  scenarios: z.array(ScenarioSchema).min(1),
}).strict();

/** A validated suite file. */
export type Suite = z.infer<typeof SuiteSchema>;
/** One scenario of a suite. */
export type Scenario = z.infer<typeof ScenarioSchema>;

/**
 * Parses and validates suite text; `file` names it in errors, which give the field path, what
 * was expected and the value seen. SLO, gate and failure-policy strings are checked too.
 *
 * @example
 * ```ts
 * import { parseSuite } from "./suite_command.ts";
 * const s = parseSuite("suite: nightly\nscenarios:\n  - name: a\n    run: { rate: 2 }\n", "s.yaml");
 * console.log(s.suite, s.scenarios[0].run); // nightly { rate: 2 }
 * ```
 */
export function parseSuite(text: string, file: string): Suite {
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(
      `Suite file "${file}": not valid ${
        file.endsWith(".json") ? "JSON" : "YAML"
      }: ${(e as Error).message}`,
    );
  }
  const result = SuiteSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length === 0
      ? "top level"
      : issue.path.map((p) =>
        typeof p === "number" ? `[${p}]` : `.${String(p)}`
      )
        .join("").replace(/^\./, "");
    throw new Error(
      `Suite file "${file}", ${where}: ${issue.message}, got ${
        JSON.stringify(valueAt(raw, issue.path)) ?? "nothing"
      }`,
    );
  }
  const suite = result.data;
  const names = new Set<string>();
  suite.scenarios.forEach((s, i) => {
    const at = `Suite file "${file}", scenarios[${i}]`;
    if (names.has(s.name)) {
      throw new Error(`${at}.name: duplicate scenario name "${s.name}"`);
    }
    names.add(s.name);
    for (const key of Object.keys(s.run)) {
      if (RESERVED.includes(key)) {
        throw new Error(
          `${at}.run.${key}: set by the suite (db, label and quiet come from the command line; ` +
            `slo, warmup, cooldown and repeat are scenario fields), got ${
              JSON.stringify(s.run[key])
            }`,
        );
      }
    }
    try {
      if (s.slo !== undefined) parseSlo(s.slo);
      if (s.gates !== undefined) parseGates(s.gates);
      if (s.failure_policy !== undefined) parseFailurePolicy(s.failure_policy);
    } catch (e) {
      throw new Error(`${at} "${s.name}": ${(e as Error).message}`);
    }
  });
  for (const key of Object.keys(suite.defaults)) {
    if (RESERVED.includes(key)) {
      throw new Error(
        `Suite file "${file}", defaults.${key}: set by the suite, not a default`,
      );
    }
  }
  return suite;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * The argument list a scenario's run options stand for: `--name value`, `--flag` for `true`,
 * nothing for `false`.
 *
 * @example
 * ```ts
 * import { scenarioArgs } from "./suite_command.ts";
 * console.log(scenarioArgs({ "max-requests": 20, "sort-by-time": true })); // [ "--max-requests", "20", "--sort-by-time" ]
 * ```
 */
export function scenarioArgs(
  options: Record<string, string | number | boolean>,
): string[] {
  return Object.entries(options).flatMap(([k, v]) =>
    v === false ? [] : v === true ? [`--${k}`] : [`--${k}`, String(v)]
  );
}

/** What `run --suite` did. */
export interface SuiteRunResult {
  suite: string;
  runs: { scenario: string; result: RunCommandResult }[];
  exitCode: number;
}

/**
 * Runs every scenario of `file` (all are validated before the first runs) into `db`, each
 * labelled `<suite>/<scenario>` with runs.suite and runs.scenario set.
 * `parseRunFlags` reads run options from arguments with the run command's own parser.
 */
export async function suiteRunCommand(
  file: string,
  common: { db: string; quiet?: boolean; json?: boolean },
  parseRunFlags: (args: string[]) => RunFlags,
): Promise<SuiteRunResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(
      `Cannot read suite file "${file}": ${(e as Error).message}`,
    );
  }
  const suite = parseSuite(text, file);
  const planned: { scenario: Scenario; cfg: RunConfig }[] = [];
  for (const [i, s] of suite.scenarios.entries()) {
    try {
      const flags: RunFlags = {
        ...parseRunFlags(scenarioArgs({ ...suite.defaults, ...s.run })),
        db: common.db,
        label: `${suite.suite}/${s.name}`,
        quiet: common.quiet,
        json: common.json,
        slo: s.slo,
        warmup: s.warmup ? String(s.warmup) : undefined,
        cooldown: s.cooldown ? String(s.cooldown) : undefined,
        repeat: String(s.repeat ?? suite.repeat ?? 1),
      };
      const cfg = {
        ...parseRunConfig(flags),
        grouping: { suite: { suite: suite.suite, scenario: s.name } },
        failurePolicy: s.failure_policy === undefined
          ? undefined
          : parseFailurePolicy(s.failure_policy),
        // recorded in the run's options JSON for `compare --suite`
        suiteGates: s.gates ?? null,
        suiteFailurePolicy: s.failure_policy ?? null,
      };
      planned.push({ scenario: s, cfg });
    } catch (e) {
      throw new Error(
        `Suite file "${file}", scenarios[${i}] "${s.name}": ${
          (e as Error).message
        }`,
      );
    }
  }
  const runs: SuiteRunResult["runs"] = [];
  let exitCode = 0;
  for (const { scenario, cfg } of planned) {
    console.error(`Suite "${suite.suite}": scenario ${scenario.name}`);
    const result = await runCommand(cfg);
    runs.push({ scenario: scenario.name, result });
    if (result.exitCode !== 0) {
      exitCode = result.exitCode;
      // an aborted scenario (Ctrl-C) stops the suite; a failed one (no request succeeded,
      // --max-error-rate) does not stop the others
      if (result.status !== "completed") break;
    }
  }
  return { suite: suite.suite, runs, exitCode };
}
