/**
 * `tokentrace merge a.duckdb b.duckdb ... --out run.duckdb`: joins the shards of a sharded run
 * (`run --shard i/N --start-at t`) into one run, exactly the requests of the whole plan, each
 * once, on one time line; refuses shards of different plans with the differences listed; prints
 * the merged run's summary, whose fidelity checks include how far the shards' clocks may have
 * disagreed (view `run_shard_clock`).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import {
  installViews,
  openSnapshot,
  parseSlo,
  renderTerminal,
  runFailure,
  runSettings,
  type SettingDifference,
  settingDifferences,
  summarizeRun,
} from "../../reports/mod.ts";
import {
  findShards,
  type FoundShard,
  mergeShards,
  shardName,
  wholeRunProblems,
} from "../merge_runs.ts";
import { Store } from "../store.ts";
import { FlagError } from "./flags.ts";
import { parseStartAt } from "./shard_flags.ts";

/** Raw `merge` flags. */
export interface MergeFlags {
  out: string;
  label?: string;
  /** Which sharded run, when a database holds shards of several (epoch seconds or ISO 8601). */
  startAt?: string;
  allowIncomplete?: boolean;
  slo?: string;
  quiet?: boolean;
}

/** What a finished merge produced. */
export interface MergeCommandResult {
  runId: string;
  exitCode: number;
}

/**
 * Merges the shard databases `paths` into `--out` and prints the merged run's summary.
 *
 * @example
 * ```ts ignore
 * const r = await mergeCommand(["s0.duckdb", "s1.duckdb"], { out: "run.duckdb" });
 * ```
 */
export async function mergeCommand(
  paths: readonly string[],
  f: MergeFlags,
): Promise<MergeCommandResult> {
  if (paths.length === 0) {
    throw new FlagError(
      "<shard databases>",
      "",
      "the database of every shard, e.g. tokentrace merge shard-*.duckdb --out run.duckdb",
    );
  }
  const out = resolve(f.out);
  if (paths.some((p) => resolve(p) === out)) {
    throw new FlagError(
      "--out",
      f.out,
      "a database other than the shards' (the merged run is written there, the shards only read)",
    );
  }
  const startAt = f.startAt === undefined
    ? undefined
    : parseStartAt("--start-at", f.startAt);
  const shards: FoundShard[] = [];
  for (const path of paths) {
    const found = (await findShards(path)).filter((s) =>
      startAt === undefined || s.facts.startAtUnixNs === startAt
    );
    if (found.length === 0) {
      throw new Error(
        `Database "${path}" holds no shard run${
          startAt === undefined ? "" : ` starting at ${isoNs(startAt)}`
        }: pass the databases written by tokentrace run --shard i/N --start-at t`,
      );
    }
    if (found.length > 1) {
      throw new Error(
        `Database "${path}" holds ${found.length} shard runs (${
          found.map((s) =>
            `${shardName(s)} starting at ${isoNs(s.facts.startAtUnixNs)}`
          )
            .join("; ")
        }): pass --start-at to choose the sharded run to merge`,
      );
    }
    shards.push(found[0]);
  }
  const differences = await planDifferences(shards);
  if (differences.length > 0) throw new Error(differencesMessage(differences));
  const problems = wholeRunProblems(shards, {
    allowIncomplete: f.allowIncomplete ?? false,
  });
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const merged = await mergeShards(f.out, shards, { label: f.label });
  const store = await Store.open(f.out);
  let summary;
  let clock;
  try {
    await installViews(store);
    clock = (await store.query(
      `select clocks, clock_disagreement_ms from run_shard_clock where run_id = $1`,
      [merged.runId],
    ))[0];
    const snapshot = await openSnapshot(store, { runIds: [merged.runId] });
    try {
      summary = await summarizeRun(
        snapshot,
        merged.runId,
        f.slo ? parseSlo(f.slo) : undefined,
      );
    } finally {
      snapshot.close();
    }
  } finally {
    store.close();
  }
  const s0 = shards[0].facts;
  const disagreement = clock.clock_disagreement_ms === null
    ? "unknown (a shard's host clock error is not known)"
    : `<= ${fmtMs(Number(clock.clock_disagreement_ms))} ms`;
  console.error(
    `Merged ${shards.length} shards of plan ${
      s0.planSha256.slice(0, 12)
    } into run ${merged.runId} in ${f.out}: ${merged.requests} of the plan's ${s0.planRequests} requests, each once ` +
      `(${merged.tokenEvents} token events); the shards' clocks may disagree by ${disagreement} ` +
      `(${clock.clocks} clock${Number(clock.clocks) === 1 ? "" : "s"})`,
  );
  if (!f.quiet) console.log(renderTerminal(summary));
  const failure = merged.status === "completed" ? runFailure(summary) : null;
  if (failure !== null) console.error(failure);
  return {
    runId: merged.runId,
    exitCode: merged.status === "completed" && failure === null ? 0 : 1,
  };
}

/** One shard whose plan or settings differ from the first shard's. */
interface ShardDifference {
  first: FoundShard;
  other: FoundShard;
  differences: SettingDifference[];
}

/**
 * How each shard's plan and recorded settings differ from the first shard's; the shard index
 * is the one setting that must differ.
 */
async function planDifferences(
  shards: readonly FoundShard[],
): Promise<ShardDifference[]> {
  const settings: Record<string, string>[] = [];
  for (const s of shards) {
    const store = await Store.open(s.path, { readOnly: true });
    try {
      const own = await runSettings(store, s.facts.shardRunId);
      for (const k of Object.keys(own)) {
        if (k.startsWith("options.shard.")) delete own[k];
      }
      own["plan (sha256 of every request)"] = JSON.stringify(
        s.facts.planSha256,
      );
      own["shards (N of --shard i/N)"] = String(s.facts.shardCount);
      own["start (--start-at)"] = isoNs(s.facts.startAtUnixNs);
      settings.push(own);
    } finally {
      store.close();
    }
  }
  const out: ShardDifference[] = [];
  for (let k = 1; k < shards.length; k++) {
    const differences = settingDifferences(settings[0], settings[k]);
    if (differences.length > 0) {
      out.push({ first: shards[0], other: shards[k], differences });
    }
  }
  return out;
}

/**
 * The refusal of shards of different plans: one block per shard that differs from the first.
 *
 * @example
 * ```ts ignore
 * throw new Error(differencesMessage(await planDifferences(shards)));
 * ```
 */
function differencesMessage(diffs: readonly ShardDifference[]): string {
  const lines = ["Shards of different plans cannot be merged:"];
  for (const d of diffs) {
    const a = `shard ${d.first.facts.shardIndex}/${d.first.facts.shardCount}`;
    const b = `shard ${d.other.facts.shardIndex}/${d.other.facts.shardCount}`;
    lines.push(
      `${shardName(d.other)} differs from ${
        shardName(d.first)
      } in ${d.differences.length} ` +
        `setting${d.differences.length === 1 ? "" : "s"} (${a} vs ${b}):`,
      ...d.differences.map((x) =>
        `  ${x.path}: ${cut(x.baseline)} vs ${cut(x.candidate)}`
      ),
    );
  }
  lines.push(
    "Start every shard of a run with the same workload, seed, load flags and --start-at " +
      "(only i of --shard i/N differs), then merge them",
  );
  return lines.join("\n");
}

function cut(v: string): string {
  return v.length > 64 ? `${v.slice(0, 61)}...` : v;
}

function isoNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const sub = ns % 1_000_000_000n;
  const iso = new Date(ms).toISOString();
  // ISO with the full sub-second part when it is not whole milliseconds
  return sub % 1_000_000n === 0n
    ? iso
    : `${iso.slice(0, 19)}.${sub.toString().padStart(9, "0")}Z`;
}

function fmtMs(v: number): string {
  return v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(2)));
}

/** Registers `tokentrace merge` on `program`. */
export function addMergeCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  program.command("merge")
    .description(
      "join the shard databases of a sharded run (run --shard i/N) into one run",
    )
    .argument("<shard-dbs...>", "the database of every shard")
    .requiredOption(
      "--out <path>",
      "result database to write the merged run to",
    )
    .option("--label <name>", "label of the merged run (default: shard 0's)")
    .option(
      "--start-at <time>",
      "which sharded run, when a database holds several (their --start-at)",
    )
    .option(
      "--allow-incomplete",
      "merge shards that were aborted or failed too (the merged run is then aborted)",
    )
    .option("--slo <spec>", "SLO for the summary, e.g. ttft=500,tpot=50 (ms)")
    .option("--quiet", "no summary")
    .action(async (dbs, opts) => {
      const r = await mergeCommand(dbs, opts);
      exit(r.exitCode);
    });
}
