/**
 * `tokentrace compare`: a candidate against a baseline, each a run or a group of repeated runs
 * (`run --repeat N`): p50/p99 of each latency metric and goodput with 95 % intervals (between
 * runs for groups, within the run for single runs, said so), regression gates, JUnit XML; or,
 * with `--suite`, every scenario's latest run (or group) against its previous one.
 *
 * Like with like: sides whose workload, backend or load settings differ are refused with the
 * differences listed, unless `--allow-different` (then the differences are printed with it).
 *
 * Exit status 1 when a gate fails (its bound exceeded beyond the interval), or, with
 * `--fail-on-untrusted`, when a side's fidelity is flagged; else 0.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  type ComparedSide,
  compareSides,
  type Comparison,
  DEFAULT_GATES,
  evaluateGates,
  type FailurePolicy,
  formatSlo,
  type GateResult,
  openSnapshot,
  parseFailurePolicy,
  parseGates,
  parseSlo,
  recordedSlo,
  refusalMessage,
  renderComparisonJson,
  renderComparisonMarkdown,
  renderComparisonText,
  renderGatesJunit,
  resolveSide,
  type SettingDifference,
  sideDifferences,
  type Slo,
} from "../../reports/mod.ts";
import { openResults } from "../parquet_store.ts";
import type { Store } from "../store.ts";
import { integerAtLeast, oneOf } from "./flags.ts";

/** Raw `compare` flags. */
export interface CompareFlags {
  db: string;
  baseline?: string;
  candidate?: string;
  suite?: string;
  slo?: string;
  failurePolicy?: string;
  gate?: string;
  junit?: string;
  format: string;
  out?: string;
  replicates: string;
  seed: string;
  /** Compare sides whose settings differ (the differences are printed with the result). */
  allowDifferent?: boolean;
  /** Exit 1 when either side's fidelity is flagged. */
  failOnUntrusted?: boolean;
  /** Compare the named runs alone, not the groups they belong to. */
  singleRun?: boolean;
}

/** One compared pair and its gate verdicts. */
export interface ComparedPair {
  /** The scenario name for `--suite`, else `null`. */
  scenario: string | null;
  comparison: Comparison;
  gates: GateResult[];
}

/** What `compare` found. */
export interface CompareResult {
  pairs: ComparedPair[];
  /** Scenarios of the suite without a previous run (nothing to compare with). */
  skipped: string[];
  exitCode: number;
}

/** Runs `compare` and prints the verdicts (see the module documentation). */
export async function compareCommand(f: CompareFlags): Promise<CompareResult> {
  const format = oneOf("--format", f.format, ["table", "md", "json"] as const);
  const flagSlo = f.slo ? parseSlo(f.slo) : undefined;
  const flagGates = f.gate === undefined
    ? undefined
    : f.gate.trim() === "none"
    ? []
    : parseGates(f.gate);
  const policy = f.failurePolicy === undefined
    ? undefined
    : parseFailurePolicy(f.failurePolicy);
  const replicates = integerAtLeast("--replicates", f.replicates, 20);
  const seed = integerAtLeast("--seed", f.seed, 0);
  if (f.suite === undefined && (!f.baseline || !f.candidate)) {
    throw new Error(
      "Option --baseline and --candidate: expected a run id or label for each (or --suite <label>)",
    );
  }
  const store = await openResults(f.db);
  const pairs: ComparedPair[] = [];
  const skipped: string[] = [];
  try {
    const plan: {
      scenario: string | null;
      baseline: ComparedSide;
      candidate: ComparedSide;
    }[] = [];
    if (f.suite !== undefined) {
      const found = await suitePairs(store, f.suite);
      plan.push(...found.pairs);
      skipped.push(...found.skipped);
    } else {
      plan.push({
        scenario: null,
        baseline: await resolveSide(store, f.baseline!, f.singleRun ?? false),
        candidate: await resolveSide(store, f.candidate!, f.singleRun ?? false),
      });
    }
    for (const p of plan) {
      const recorded = await recordedSuiteSettings(
        store,
        p.candidate.runIds[0],
      );
      const baseSlo = await recordedSlo(store, p.baseline.runIds[0]);
      const candSlo = await recordedSlo(store, p.candidate.runIds[0]);
      const differences: SettingDifference[] = await sideDifferences(
        store,
        p.baseline.runIds,
        p.candidate.runIds,
      );
      if (
        flagSlo === undefined && baseSlo !== undefined &&
        candSlo !== undefined &&
        formatSlo(baseSlo) !== formatSlo(candSlo)
      ) {
        // goodput would depend on which side's SLO judges both: say so instead of choosing
        differences.push({
          path: "slo (recorded; --slo sets one for both)",
          baseline: formatSlo(baseSlo),
          candidate: formatSlo(candSlo),
        });
      }
      if (differences.length > 0 && !f.allowDifferent) {
        const message = refusalMessage(
          p.baseline.name,
          p.candidate.name,
          differences,
        );
        throw new Error(
          p.scenario === null ? message : `Scenario ${p.scenario}: ${message}`,
        );
      }
      const slo: Slo = flagSlo ?? baseSlo ?? candSlo ?? {};
      const gates = flagGates ?? recorded.gates ?? parseGates(DEFAULT_GATES);
      const snapshot = await openSnapshot(store, {
        runIds: [...p.baseline.runIds, ...p.candidate.runIds],
      });
      try {
        const comparison = await compareSides(
          snapshot,
          p.baseline,
          p.candidate,
          {
            slo,
            failurePolicy: policy ?? recorded.failurePolicy,
            replicates,
            seed,
            differences,
          },
        );
        pairs.push({
          scenario: p.scenario,
          comparison,
          gates: evaluateGates(gates, comparison),
        });
      } finally {
        snapshot.close();
      }
    }
  } finally {
    store.close();
  }

  const text = pairs.map((p) => {
    const head = p.scenario === null ? "" : `== scenario ${p.scenario} ==\n`;
    return head +
      (format === "json"
        ? renderComparisonJson(p.comparison, p.gates)
        : format === "md"
        ? renderComparisonMarkdown(p.comparison, p.gates)
        : renderComparisonText(p.comparison, p.gates));
  }).join("\n") +
    skipped.map((s) => `scenario ${s}: no previous run to compare with\n`)
      .join("");
  if (f.out === undefined) {
    console.log(text.endsWith("\n") ? text.slice(0, -1) : text);
  } else {
    await Deno.writeTextFile(f.out, text);
  }
  if (f.junit !== undefined) {
    const results = pairs.flatMap((p) =>
      p.gates.map((g) =>
        p.scenario === null
          ? g
          : { ...g, gate: { ...g.gate, spec: `${p.scenario}: ${g.gate.spec}` } }
      )
    );
    const name = f.suite !== undefined
      ? `tokentrace suite ${f.suite}`
      : `tokentrace compare ${f.baseline} -> ${f.candidate}`;
    await Deno.writeTextFile(f.junit, renderGatesJunit(name, results));
  }
  const failed = pairs.some((p) => p.gates.some((g) => g.verdict === "fail"));
  const untrusted = pairs.some((p) => !p.comparison.trusted);
  if (untrusted && f.failOnUntrusted) {
    console.error(
      "compare: a side's fidelity is flagged (see the headline): failing as --fail-on-untrusted asks",
    );
  }
  return {
    pairs,
    skipped,
    exitCode: failed || (untrusted && f.failOnUntrusted) ? 1 : 0,
  };
}

/**
 * For each scenario of the latest run of suite `label`: that run and the previous run of the
 * same scenario (by start time). Errors list the known suites when `label` has no run.
 */
export async function suitePairs(
  store: Store,
  label: string,
): Promise<{
  pairs: {
    scenario: string;
    baseline: ComparedSide;
    candidate: ComparedSide;
  }[];
  skipped: string[];
}> {
  // A unit is a group of repeated runs, or a run without a group.
  const rows = await store.query(
    `with units as (
       select scenario, coalesce(group_id, run_id) as unit, any_value(group_id) as group_id,
         list(run_id order by group_index, started_at, run_id) as run_ids,
         max(started_at) as last_started
       from runs where suite = $1 and scenario is not null
       group by scenario, coalesce(group_id, run_id)
     )
     select scenario, unit, group_id, run_ids,
       row_number() over (partition by scenario order by last_started desc, unit desc) as k
     from units
     qualify k <= 2
     order by scenario, k`,
    [label],
  );
  if (rows.length === 0) {
    const suites = (await store.query(
      `select distinct suite from runs where suite is not null order by suite`,
    )).map((r) => `"${r.suite}"`);
    throw new Error(
      `No run of suite "${label}" in "${store.path}": expected one of ${
        suites.length === 0 ? "(no suite has run)" : suites.join(", ")
      }`,
    );
  }
  const byScenario = new Map<string, ComparedSide[]>();
  for (const r of rows) {
    const list = byScenario.get(r.scenario as string) ?? [];
    const runIds = (r.run_ids as unknown as { items: unknown[] }).items.map(
      String,
    );
    list.push({
      name: `${label}/${r.scenario}${
        r.group_id === null ? "" : ` group ${r.group_id}`
      }`,
      groupId: r.group_id === null ? null : String(r.group_id),
      runIds,
    });
    byScenario.set(r.scenario as string, list);
  }
  const pairs = [];
  const skipped = [];
  for (const [scenario, units] of byScenario) {
    if (units.length < 2) skipped.push(scenario);
    else pairs.push({ scenario, candidate: units[0], baseline: units[1] });
  }
  return { pairs, skipped };
}

/** Gates, SLO and failure policy a suite scenario recorded in its run's options JSON. */
async function recordedSuiteSettings(
  store: Store,
  runId: string,
): Promise<
  {
    gates?: ReturnType<typeof parseGates>;
    slo?: Slo;
    failurePolicy?: FailurePolicy;
  }
> {
  const rows = await store.query(
    `select json_extract_string(options, '$.suiteGates') as gates,
       slo_failure_policy as policy
     from runs where run_id = $1`,
    [runId],
  );
  const r = rows[0];
  return {
    gates: r?.gates ? parseGates(String(r.gates)) : undefined,
    failurePolicy: r?.policy ? parseFailurePolicy(String(r.policy)) : undefined,
  };
}

/** Registers `tokentrace compare` on `program`. */
export function addCompareCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  program.command("compare")
    .description(
      "candidate vs baseline (runs or groups of repeated runs): p50/p99 changes with 95% intervals, regression gates (exit 1 on failure)",
    )
    .option(
      "--db <path>",
      "result database, or a results store folder (tokentrace export)",
      "results.duckdb",
    )
    .option("--baseline <run|label>", "the reference run")
    .option("--candidate <run|label>", "the run under test")
    .option(
      "--suite <label>",
      "compare each scenario of the suite's latest run with its previous run",
    )
    .option("--slo <spec>", "SLO for goodput (default: the one recorded)")
    .option(
      "--failure-policy <p>",
      "count-errors | exclude-errors | count-all (default: recorded or count-errors)",
    )
    .option(
      "--gate <spec>",
      `fail on e.g. "p99_ttft:+10%,goodput:-5%" when the whole interval is past the bound; ` +
        `"none" for no gate (default: the suite's, else ${DEFAULT_GATES})`,
    )
    .option(
      "--allow-different",
      "compare sides whose workload, backend or load settings differ (the differences are printed)",
    )
    .option(
      "--fail-on-untrusted",
      "exit 1 when a run of either side has a flagged fidelity check",
    )
    .option(
      "--single-run",
      "compare the named runs alone, not the groups of repeated runs they belong to",
    )
    .option("--junit <file>", "write one JUnit test case per gate")
    .option("--format <fmt>", "table | md | json", "table")
    .option("--out <file>", "write the comparison here instead of stdout")
    .option("--replicates <n>", "bootstrap replicates", "200")
    .option("--seed <n>", "bootstrap seed (resampling is reproducible)", "0")
    .action(async (opts) => {
      const r = await compareCommand(opts);
      exit(r.exitCode);
    });
}
