/**
 * `tokentrace sweep`: the same workload at several speedups, target rates or concurrency caps,
 * each an ordinary run grouped by a sweep id; then the attainment-vs-rate curve and DistServe's
 * capacity at X % attainment, interpolated between the bracketing points (for a concurrency
 * sweep the rate is the achieved throughput, since the schedule is the same at every point). Points run from the lightest load up
 * and the sweep stops early once attainment has collapsed.
 *
 * Every `run` flag is accepted and applies to every point (the run command's own parser reads
 * them), so a sweep replays exactly what `run` would.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  attainmentCollapsed,
  collectRunReport,
  DEFAULT_FAILURE_POLICY,
  type FailurePolicy,
  openSnapshot,
  parseFailurePolicy,
  parseSlo,
  parseSweepValues,
  readSweep,
  renderHtml,
  type Slo,
  type SweepAxis,
  sweepMarkdown,
  type SweepReport,
} from "../../reports/mod.ts";
import { Store } from "../store.ts";
import { asFlagError, FlagError, positiveNumber } from "./flags.ts";
import { runCommand } from "./run_command.ts";
import { parseRunConfig, type RunFlags } from "./run_config.ts";
import { addOptions, RUN_OPTIONS } from "./option_sets.ts";

/** Parses `run` flags given as arguments, with the run command's defaults and checks. */
export type RunFlagsParser = (args: string[]) => RunFlags;

/** Raw `sweep` flags. */
export interface SweepFlags {
  speedups?: string;
  rates?: string;
  concurrencies?: string;
  slo?: string;
  capacity: string;
  collapse: string;
  failurePolicy: string;
  gpus: string;
  db: string;
  label?: string;
  html?: string;
}

/** The validated configuration of a sweep. */
export interface SweepConfig {
  axis: SweepAxis;
  /** Ascending. */
  values: number[];
  slo: Slo;
  /** Target attainment, 0..1. */
  target: number;
  /** Stop after a point whose attainment is below this fraction. */
  collapse: number;
  failurePolicy: FailurePolicy;
  gpus: number;
  db: string;
  label: string;
  html?: string;
}

/**
 * Validates `sweep` flags; errors name the flag.
 *
 * @example
 * ```ts
 * import { parseSweepConfig } from "./sweep_command.ts";
 * const c = parseSweepConfig({ rates: "8,2,4", slo: "ttft=200", capacity: "90", collapse: "50",
 *   failurePolicy: "count-errors", gpus: "1", db: "r.duckdb" });
 * console.log(c.axis, c.values, c.target); // rate [ 2, 4, 8 ] 0.9
 * ```
 */
export function parseSweepConfig(f: SweepFlags): SweepConfig {
  const given = [
    ["speedup", "--speedups", f.speedups],
    ["rate", "--rates", f.rates],
    ["concurrency", "--concurrencies", f.concurrencies],
  ].filter(([, , v]) => v !== undefined) as [SweepAxis, string, string][];
  if (given.length !== 1) {
    throw new FlagError(
      "--speedups / --rates / --concurrencies",
      given.map(([, , v]) => v).join(" "),
      "exactly one of --speedups x,y,.. or --rates r,s,.. (requests/s) or --concurrencies n,m,..",
    );
  }
  const [[axis, flag, spec]] = given;
  if (!f.slo) {
    throw new FlagError(
      "--slo",
      f.slo ?? "",
      "the SLO attainment is judged by, e.g. ttft=500,tpot=50",
    );
  }
  const values = asFlagError(() => parseSweepValues(flag, spec));
  if (axis === "concurrency" && values.some((v) => !Number.isInteger(v))) {
    throw new FlagError(
      flag,
      spec,
      "whole numbers of requests in flight, e.g. 1,2,4,8",
    );
  }
  const capacity = positiveNumber("--capacity", f.capacity);
  if (capacity > 100) {
    throw new FlagError("--capacity", f.capacity, "a percentage in (0, 100]");
  }
  const collapse = Number(f.collapse);
  if (!(collapse >= 0 && collapse <= 100) || f.collapse.trim() === "") {
    throw new FlagError("--collapse", f.collapse, "a percentage in [0, 100]");
  }
  const gpus = positiveNumber("--gpus", f.gpus);
  return {
    axis,
    values,
    slo: asFlagError(() => parseSlo(f.slo!)),
    target: capacity / 100,
    collapse: collapse / 100,
    failurePolicy: asFlagError(() => parseFailurePolicy(f.failurePolicy)),
    gpus,
    db: f.db,
    label: f.label ?? `sweep-${new Date().toISOString().slice(0, 19)}`,
    html: f.html,
  };
}

/** What a finished sweep produced. */
export interface SweepResult {
  sweepId: string;
  report: SweepReport;
  exitCode: number;
}

/**
 * Runs a sweep: one run per value (label `<label>@<axis>=<value>`), early stop on collapse,
 * then prints the curve and capacity (and writes the HTML report of the last point when asked).
 */
export async function sweepCommand(
  cfg: SweepConfig,
  runFlags: RunFlags,
): Promise<SweepResult> {
  const sweepId = crypto.randomUUID();
  await insertSweep(cfg, sweepId);
  console.error(
    `Sweep ${sweepId} "${cfg.label}": ${cfg.axis} ${
      cfg.values.join(", ")
    }; capacity at ${cfg.target * 100}% attainment; stops below ${
      cfg.collapse * 100
    }%`,
  );
  let stopReason = `all ${cfg.values.length} points run`;
  let exitCode = 0;
  for (const [i, value] of cfg.values.entries()) {
    const flags: RunFlags = {
      ...runFlags,
      db: cfg.db,
      label: `${cfg.label}@${cfg.axis}=${value}`,
      quiet: true,
      json: false,
      slo: undefined,
      speedup: cfg.axis === "speedup" ? String(value) : runFlags.speedup ?? "1",
      rate: cfg.axis === "rate" ? String(value) : runFlags.rate,
      concurrency: cfg.axis === "concurrency"
        ? String(value)
        : (runFlags as { concurrency?: string }).concurrency,
    } as RunFlags;
    const runCfg = {
      ...parseRunConfig(flags),
      // what judges the point, recorded on its runs row like the sweep's own
      slo: cfg.slo,
      failurePolicy: cfg.failurePolicy,
      grouping: { sweep: { sweepId, axis: cfg.axis, value } },
    };
    const r = await runCommand(runCfg);
    const point = await pointAttainment(cfg, r.runId);
    console.error(
      `point ${
        i + 1
      }/${cfg.values.length} ${cfg.axis} ${value}: run ${r.runId} ${r.status}, ` +
        `load ${fmt(point.loadRps)} req/s, attainment ${
          point.attainment === null
            ? "—"
            : `${(point.attainment * 100).toFixed(1)}%`
        }`,
    );
    if (r.status !== "completed") {
      stopReason = `point ${cfg.axis}=${value} ${r.status}`;
      exitCode = r.exitCode;
      break;
    }
    if (
      attainmentCollapsed(point.attainment, cfg.collapse) &&
      i < cfg.values.length - 1
    ) {
      stopReason = `attainment ${
        (point.attainment! * 100).toFixed(1)
      }% at ${cfg.axis}=${value} is below ${
        cfg.collapse * 100
      }%: higher loads skipped`;
      break;
    }
  }
  await finishSweep(cfg.db, sweepId, stopReason);
  const done = await Store.open(cfg.db);
  let report: SweepReport;
  try {
    const runIds = (await done.query(
      `select run_id from runs where sweep_id = $1`,
      [sweepId],
    )).map((r) => r.run_id as string);
    const snapshot = await openSnapshot(done, { runIds });
    try {
      report = await readSweep(snapshot, sweepId, cfg.gpus);
      if (cfg.html !== undefined && report.points.length > 0) {
        const last = report.points[report.points.length - 1];
        const full = await collectRunReport(snapshot, last.runId, {
          slo: cfg.slo,
          failurePolicy: cfg.failurePolicy,
        });
        await Deno.writeTextFile(cfg.html, await renderHtml(full));
        console.error(`Wrote the HTML report to ${cfg.html}`);
      }
    } finally {
      snapshot.close();
    }
  } finally {
    done.close();
  }
  console.log(sweepMarkdown(report).join("\n"));
  return { sweepId, report, exitCode };
}

/** Inserts the `sweeps` row of a new sweep (its points reference it by `sweep_id`). */
export async function insertSweep(
  cfg: Pick<
    SweepConfig,
    "db" | "label" | "axis" | "values" | "slo" | "failurePolicy" | "target"
  >,
  sweepId: string,
): Promise<void> {
  const store = await Store.open(cfg.db);
  try {
    await store.exec(
      `insert into sweeps (sweep_id, label, started_at, axis, planned_values, slo_ttft_ms,
         slo_tpot_ms, slo_e2e_ms, slo_itl_ms, failure_policy, target_attainment)
       values ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        sweepId,
        cfg.label,
        cfg.axis,
        cfg.values.join(","),
        cfg.slo.ttftMs ?? null,
        cfg.slo.tpotMs ?? null,
        cfg.slo.e2eMs ?? null,
        cfg.slo.itlMs ?? null,
        cfg.failurePolicy,
        cfg.target,
      ],
    );
  } finally {
    store.close();
  }
}

/** Marks a sweep finished, with why it stopped (and the values it ran, when they were chosen as it went). */
export async function finishSweep(
  db: string,
  sweepId: string,
  stopReason: string,
  values?: readonly number[],
): Promise<void> {
  const store = await Store.open(db);
  try {
    await store.exec(
      `update sweeps set finished_at = now(), stop_reason = $2,
         planned_values = coalesce($3, planned_values) where sweep_id = $1`,
      [sweepId, stopReason, values === undefined ? null : values.join(",")],
    );
  } finally {
    store.close();
  }
}

/** The attainment of one point under the sweep's SLO (from `slo_attainment`). */
export async function pointAttainment(
  cfg: Pick<SweepConfig, "db" | "slo" | "failurePolicy" | "axis">,
  runId: string,
): Promise<{ attainment: number | null; loadRps: number | null }> {
  const store = await Store.open(cfg.db, { readOnly: true });
  try {
    const snapshot = await openSnapshot(store, { runIds: [runId] });
    try {
      const rows = await snapshot.query(
        `select a.attainment,
           case when $6 = 'concurrency' then t.request_throughput_rps else o.offered_rps end
             as load_rps
         from slo_attainment($1, $2, $3, itl_ms_max := $4, failure_policy := $5) as a
         join run_offered_load as o on o.run_id = a.run_id
         join run_throughput as t on t.run_id = a.run_id`,
        [
          cfg.slo.ttftMs ?? null,
          cfg.slo.tpotMs ?? null,
          cfg.slo.e2eMs ?? null,
          cfg.slo.itlMs ?? null,
          cfg.failurePolicy ?? DEFAULT_FAILURE_POLICY,
          cfg.axis,
        ],
      );
      const n = (v: unknown) =>
        v === null || v === undefined ? null : Number(v);
      return {
        attainment: n(rows[0]?.attainment),
        loadRps: n(rows[0]?.load_rps),
      };
    } finally {
      snapshot.close();
    }
  } finally {
    store.close();
  }
}

function fmt(v: number | null): string {
  return v === null ? "—" : v.toFixed(2);
}

/** Run options a sweep sets itself (or that make no sense per point). */
const NOT_INHERITED = new Set([
  "--db",
  "--label",
  "--slo",
  "--json",
  "--quiet",
  "--suite",
  "--speedup",
  "--rate",
  "--concurrency",
  "--repeat",
]);

/**
 * Registers `tokentrace sweep` on `program`: every run option (option_sets.ts) except those a
 * sweep sets itself is taken, so points replay what `run` would.
 */
export function addSweepCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  const sweep = program.command("sweep")
    .description(
      "replay one workload at several speedups or rates: attainment-vs-rate curve and capacity at X% (DistServe goodput)",
    )
    .option("--speedups <list>", "time scalings, e.g. 1,2,4,8")
    .option("--rates <list>", "target request rates (req/s), e.g. 2,4,8,16")
    .option(
      "--concurrencies <list>",
      "caps on requests in flight, e.g. 1,2,4,8 (x axis: achieved throughput)",
    )
    .option("--slo <spec>", "SLO judging attainment, e.g. ttft=500,tpot=50")
    .option("--capacity <pct>", "capacity at this attainment (%)", "90")
    .option(
      "--collapse <pct>",
      "stop after a point whose attainment is below this (%)",
      "50",
    )
    .option(
      "--failure-policy <p>",
      "count-errors | exclude-errors | count-all",
      "count-errors",
    )
    .option("--gpus <n>", "GPUs serving, for capacity per GPU", "1")
    .option("--db <path>", "result database", "results.duckdb")
    .option("--label <name>", "sweep label; points are <label>@<axis>=<value>")
    .option(
      "--html <file>",
      "also write the HTML report of the last point (with the sweep chart)",
    );
  addOptions(sweep, RUN_OPTIONS, NOT_INHERITED);
  sweep.action(async (opts) => {
    const all = opts as unknown as SweepFlags & RunFlags;
    const cfg = parseSweepConfig(all);
    const r = await sweepCommand(cfg, all);
    exit(r.exitCode);
  });
}
