/**
 * `tokentrace compare`: a candidate run against a baseline (deltas with bootstrap 95 % CIs for
 * p50/p99 of each latency metric and goodput), regression gates, JUnit XML; or, with `--suite`,
 * every scenario of a suite's latest run against the previous run of the same scenario.
 *
 * Exit status 1 when a gate fails (beyond its bound and outside the noise), else 0.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  compareRuns,
  type Comparison,
  evaluateGates,
  type FailurePolicy,
  type GateResult,
  openSnapshot,
  parseFailurePolicy,
  parseGates,
  parseSlo,
  recordedSlo,
  renderComparisonJson,
  renderComparisonMarkdown,
  renderComparisonText,
  renderGatesJunit,
  resolveRun,
  type Slo,
} from "../../reports/mod.ts";
import { Store } from "../store.ts";
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
  const flagGates = f.gate ? parseGates(f.gate) : undefined;
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
  const store = await Store.open(f.db, { readOnly: true });
  const pairs: ComparedPair[] = [];
  const skipped: string[] = [];
  try {
    const plan: {
      scenario: string | null;
      baseline: string;
      candidate: string;
    }[] = [];
    if (f.suite !== undefined) {
      const found = await suitePairs(store, f.suite);
      plan.push(...found.pairs);
      skipped.push(...found.skipped);
    } else {
      plan.push({
        scenario: null,
        baseline: (await resolveRun(store, f.baseline)).runId,
        candidate: (await resolveRun(store, f.candidate)).runId,
      });
    }
    for (const p of plan) {
      const recorded = await recordedSuiteSettings(store, p.candidate);
      const slo: Slo = flagSlo ?? recorded.slo ??
        (await recordedSlo(store, p.candidate)) ?? {};
      const gates = flagGates ?? recorded.gates ?? [];
      const snapshot = await openSnapshot(store, {
        runIds: [p.baseline, p.candidate],
      });
      try {
        const comparison = await compareRuns(
          snapshot,
          p.baseline,
          p.candidate,
          {
            slo,
            failurePolicy: policy ?? recorded.failurePolicy,
            replicates,
            seed,
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
  return { pairs, skipped, exitCode: failed ? 1 : 0 };
}

/**
 * For each scenario of the latest run of suite `label`: that run and the previous run of the
 * same scenario (by start time). Errors list the known suites when `label` has no run.
 */
export async function suitePairs(
  store: Store,
  label: string,
): Promise<{
  pairs: { scenario: string; baseline: string; candidate: string }[];
  skipped: string[];
}> {
  const rows = await store.query(
    `select scenario, run_id,
       row_number() over (partition by scenario order by started_at desc, run_id desc) as k
     from runs where suite = $1 and scenario is not null
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
  const byScenario = new Map<string, string[]>();
  for (const r of rows) {
    const list = byScenario.get(r.scenario as string) ?? [];
    list.push(r.run_id as string);
    byScenario.set(r.scenario as string, list);
  }
  const pairs = [];
  const skipped = [];
  for (const [scenario, ids] of byScenario) {
    if (ids.length < 2) skipped.push(scenario);
    else pairs.push({ scenario, candidate: ids[0], baseline: ids[1] });
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
       json_extract_string(options, '$.suiteFailurePolicy') as policy
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
      "candidate vs baseline run: p50/p99 deltas with bootstrap 95% CIs, regression gates (exit 1 on failure)",
    )
    .option("--db <path>", "result database", "results.duckdb")
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
      'fail on e.g. "p99_ttft:+10%,goodput:-5%" (beyond bound and outside the noise)',
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
