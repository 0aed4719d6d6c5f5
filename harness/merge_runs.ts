/**
 * Merging the shards of a sharded run (`tokentrace merge`): finds each database's shard run,
 * checks that the shards make one whole run (one plan, every index once, each complete), and
 * writes them as one run: every request and token event once, each shard's times shifted so
 * that every shard's plan starts at the same instant of the merged run clock.
 *
 * Times: shard k placed the shared start at `start_ns_k` on its own run clock. The merged run
 * clock starts `L = max_k start_ns_k` before the shared start, and shard k's times move by
 * `L - start_ns_k` (`run_shards.time_shift_ns`), so the plan starts at `L` for every shard and
 * `runs.clock_origin_unix_ns = start_at - L`. Every `*_ns` column of `requests` and
 * `token_events` is a run-clock time (harness/schema.ts) and is shifted; the rest is copied by
 * name, so columns added by later migrations are carried along.
 *
 * @module
 */
import type { ShardFactsRow } from "./shard_facts.ts";
import { insertShardFacts } from "./shard_facts.ts";
import { type Row, Store } from "./store.ts";

/** A shard run found in a database. */
export interface FoundShard {
  /** The database file it is in. */
  path: string;
  facts: ShardFactsRow;
  status: string;
  endReason: string | null;
  label: string | null;
}

/**
 * Every shard run of the database at `path` (runs whose own `run_shards` row describes them),
 * oldest first.
 *
 * @example
 * ```ts ignore
 * const shards = await findShards("shard-0.duckdb");
 * ```
 */
export async function findShards(path: string): Promise<FoundShard[]> {
  const store = await Store.open(path, { readOnly: true });
  try {
    const rows = await store.query(
      `select s.*, r.status, r.end_reason, r.label
       from run_shards as s join runs as r on r.run_id = s.run_id
       where s.shard_run_id = s.run_id
       order by r.started_at, s.run_id`,
    );
    return rows.map((r) => ({
      path,
      facts: factsFromRow(r),
      status: r.status as string,
      endReason: r.end_reason as string | null,
      label: r.label as string | null,
    }));
  } finally {
    store.close();
  }
}

/**
 * Names a shard in messages: `shard 1/4 in "b.duckdb" (run 3f2a9c1e)`.
 *
 * @example
 * ```ts
 * import { shardName } from "./merge_runs.ts";
 * const facts = { shardIndex: 1, shardCount: 4, shardRunId: "3f2a9c1e-0000-4000-8000-000000000000" };
 * // deno-lint-ignore no-explicit-any
 * console.log(shardName({ path: "b.duckdb", facts } as any)); // shard 1/4 in "b.duckdb" (run 3f2a9c1e)
 * ```
 */
export function shardName(s: FoundShard): string {
  return `shard ${s.facts.shardIndex}/${s.facts.shardCount} in "${s.path}" (run ${
    s.facts.shardRunId.slice(0, 8)
  })`;
}

/**
 * Checks that `shards` (of one plan: compared beforehand) make one whole run; returns why not,
 * one sentence per problem (empty when they do).
 *
 * @example
 * ```ts ignore
 * const problems = wholeRunProblems(shards, { allowIncomplete: false });
 * ```
 */
export function wholeRunProblems(
  shards: readonly FoundShard[],
  opts: { allowIncomplete: boolean },
): string[] {
  const problems: string[] = [];
  const count = shards[0].facts.shardCount;
  const byIndex = new Map<number, FoundShard[]>();
  for (const s of shards) {
    byIndex.set(s.facts.shardIndex, [
      ...byIndex.get(s.facts.shardIndex) ?? [],
      s,
    ]);
  }
  for (let i = 0; i < count; i++) {
    const given = byIndex.get(i) ?? [];
    if (given.length === 0) {
      problems.push(
        `Shard ${i}/${count} is missing: pass the database of every shard 0/${count} .. ${
          count - 1
        }/${count}`,
      );
    } else if (given.length > 1) {
      problems.push(
        `Shard ${i}/${count} is given ${given.length} times (${
          given.map(shardName).join(", ")
        }): pass each shard once`,
      );
    }
  }
  for (const s of shards) {
    if (s.status === "completed") continue;
    const why = s.status === "running"
      ? "is still running (or its process died)"
      : `ended ${s.status}${s.endReason ? ` (${s.endReason})` : ""}`;
    if (s.status === "running" || !opts.allowIncomplete) {
      problems.push(
        `${capital(shardName(s))} ${why}: not all of its requests were sent${
          s.status === "running"
            ? ""
            : "; pass --allow-incomplete to merge it into an aborted run"
        }`,
      );
    }
  }
  const planned = shards.reduce((a, s) => a + s.facts.shardRequests, 0);
  if (problems.length === 0 && planned !== shards[0].facts.planRequests) {
    problems.push(
      `The shards' shares add up to ${planned} requests, not the plan's ${
        shards[0].facts.planRequests
      }: they were not cut from one plan by one tokentrace version`,
    );
  }
  return problems;
}

/** Options of {@linkcode mergeShards}. */
export interface MergeOptions {
  /** Label of the merged run (default: shard 0's). */
  label?: string;
  /** Run id of the merged run (default: a random UUID). */
  runId?: string;
}

/** What {@linkcode mergeShards} wrote. */
export interface MergeResult {
  runId: string;
  status: "completed" | "aborted";
  /** First attempts recorded (one per sent request of the plan). */
  requests: number;
  /** Rows of `requests`, retries included. */
  requestRows: number;
  tokenEvents: number;
}

/**
 * Writes the merged run of `shards` (a whole run: see {@linkcode wholeRunProblems}) into the
 * database at `out` (created or added to), in one transaction.
 *
 * @example
 * ```ts ignore
 * const merged = await mergeShards("run.duckdb", shards, { label: "sharded" });
 * ```
 */
export async function mergeShards(
  out: string,
  shards: readonly FoundShard[],
  opts: MergeOptions = {},
): Promise<MergeResult> {
  const sorted = [...shards].sort((a, b) =>
    a.facts.shardIndex - b.facts.shardIndex
  );
  const runId = opts.runId ?? crypto.randomUUID();
  const lead = sorted.reduce(
    (m, s) => s.facts.startNs > m ? s.facts.startNs : m,
    sorted[0].facts.startNs,
  );
  const store = await Store.open(out);
  const attached: string[] = [];
  try {
    for (const [k, s] of sorted.entries()) {
      await store.exec(`attach ${literal(s.path)} as ${alias(k)} (read_only)`);
      attached.push(alias(k));
    }
    const first = (await store.query(
      `select *, backend_info::varchar as bi, workload::varchar as wl, options::varchar as op
       from ${alias(0)}.runs where run_id = $1`,
      [sorted[0].facts.shardRunId],
    ))[0];
    for (const [k, s] of sorted.entries()) {
      const engine = await store.query(
        `select (select count(*) from ${
          alias(k)
        }.engine_steps where run_id = $1)
           + (select count(*) from ${
          alias(k)
        }.engine_tokens where run_id = $1) as n`,
        [s.facts.shardRunId],
      );
      if (Number(engine[0].n) > 0) {
        throw new Error(
          `${
            capital(shardName(s))
          } has built-in engine rows (engine_steps, engine_tokens): ` +
            "shards of one run send to one shared server, so they cannot be merged",
        );
      }
    }
    const incomplete = sorted.filter((s) => s.status !== "completed");
    const status = incomplete.length === 0 ? "completed" : "aborted";
    const options = first.op === null ? null : JSON.parse(first.op as string);
    if (options !== null) delete options.shard;
    const hosts = [];
    let finishedUs: bigint | null = null;
    for (const [k, s] of sorted.entries()) {
      const h = (await store.query(
        `select host::varchar as host, epoch_us(finished_at) as finished_us
         from ${alias(k)}.runs where run_id = $1`,
        [s.facts.shardRunId],
      ))[0];
      hosts.push(h.host === null ? null : JSON.parse(h.host as string));
      const f = h.finished_us === null ? null : BigInt(h.finished_us as bigint);
      if (f !== null && (finishedUs === null || f > finishedUs)) finishedUs = f;
    }
    const originUnixNs = sorted[0].facts.startAtUnixNs - lead;
    await store.exec("begin transaction");
    try {
      await store.exec(
        `insert into runs (run_id, label, started_at, finished_at, status, backend, backend_info,
           workload, options, tool_version, git_rev, host, clock_origin_unix_ns, end_reason,
           warmup_ns, cooldown_ns, slo_ttft_ms, slo_tpot_ms, slo_e2e_ms, slo_itl_ms, slo_failure_policy,
           load_mode)
         values ($1, $2, make_timestamptz($3::bigint // 1000), make_timestamptz($15::bigint),
           $4, $5, $6::json, $7::json, $8::json, $9, $10, $11::json, $3, $12, $13, $14,
           $16, $17, $18, $19, $20, $21)`,
        [
          runId,
          opts.label ?? sorted[0].label,
          originUnixNs,
          status,
          first.backend,
          first.bi,
          first.wl,
          options === null ? null : JSON.stringify(options),
          first.tool_version,
          first.git_rev,
          JSON.stringify({ shards: hosts }),
          incomplete.length === 0
            ? null
            : incomplete.map((s) =>
              `shard ${s.facts.shardIndex}/${s.facts.shardCount} ${s.status}${
                s.endReason ? `: ${s.endReason}` : ""
              }`
            ).join("; "),
          first.warmup_ns,
          first.cooldown_ns,
          finishedUs,
          // the shards' own SLO and policy (a shard database of schema 9 has neither)
          first.slo_ttft_ms ?? null,
          first.slo_tpot_ms ?? null,
          first.slo_e2e_ms ?? null,
          first.slo_itl_ms ?? null,
          first.slo_failure_policy ?? null,
          first.load_mode ?? null, // a shard of schema 9 has none
        ],
      );
      for (const [k, s] of sorted.entries()) {
        const shift = lead - s.facts.startNs;
        for (const table of ["requests", "token_events"]) {
          await copyShifted(
            store,
            table,
            alias(k),
            s.facts.shardRunId,
            runId,
            shift,
          );
        }
      }
      await insertShardFacts(
        store,
        sorted.map((s) => ({
          ...s.facts,
          runId,
          sourceDb: s.path,
          timeShiftNs: lead - s.facts.startNs,
        })),
      );
      await store.exec("commit");
    } catch (e) {
      await store.exec("rollback");
      throw e;
    }
    const counts = await store.query(
      `select
         count(*) filter (where coalesce(attempt, 0) = 0) as first,
         count(distinct req_id) filter (where coalesce(attempt, 0) = 0) as distinct_first,
         count(*) as all_rows,
         (select count(*) from token_events where run_id = $1) as events
       from requests where run_id = $1`,
      [runId],
    );
    const c = counts[0];
    if (Number(c.first) !== Number(c.distinct_first)) {
      throw new Error(
        `Merged run ${runId} in "${out}" holds ${c.first} first attempts of only ${c.distinct_first} ` +
          "distinct requests: the shards overlapped (a bug: please report it with the shard databases)",
      );
    }
    return {
      runId,
      status,
      requests: Number(c.first),
      requestRows: Number(c.all_rows),
      tokenEvents: Number(c.events),
    };
  } finally {
    for (const a of attached) await store.exec(`detach ${a}`).catch(() => {});
    store.close();
  }
}

/** Copies a shard's rows of `table` into the merged run, every `*_ns` time moved by `shift`. */
async function copyShifted(
  store: Store,
  table: string,
  from: string,
  shardRunId: string,
  runId: string,
  shift: bigint,
): Promise<void> {
  const columnsOf = async (catalog: string) =>
    (await store.query(
      `select column_name from information_schema.columns
       where table_catalog = $1 and table_schema = 'main' and table_name = $2
       order by ordinal_position`,
      [catalog, table],
    )).map((r) => r.column_name as string);
  const target = (await store.query("select current_database() as db"))[0]
    .db as string;
  const source = new Set(await columnsOf(from));
  const columns = (await columnsOf(target)).filter((c) => source.has(c));
  const select = columns.map((c) =>
    c === "run_id"
      ? "$1"
      : c.endsWith("_ns")
      ? `${ident(c)} + ${shift}::bigint`
      : ident(c)
  );
  await store.exec(
    `insert into ${table} (${columns.map(ident).join(", ")})
     select ${select.join(", ")} from ${from}.${table} where run_id = $2`,
    [runId, shardRunId],
  );
}

function factsFromRow(r: Row): ShardFactsRow {
  const big = (v: unknown) => v === null ? null : BigInt(v as bigint);
  return {
    runId: r.run_id as string,
    shardIndex: Number(r.shard_index),
    shardCount: Number(r.shard_count),
    shardBy: r.shard_by as "request" | "session",
    shardRunId: r.shard_run_id as string,
    planSha256: r.plan_sha256 as string,
    planRequests: Number(r.plan_requests),
    shardRequests: Number(r.shard_requests),
    startAtUnixNs: big(r.start_at_unix_ns)!,
    startNs: big(r.start_ns)!,
    leadNs: big(r.lead_ns)!,
    hostClockOffsetNs: big(r.host_clock_offset_ns)!,
    hostClockUncertaintyNs: big(r.host_clock_uncertainty_ns)!,
    hostClockDriftNs: big(r.host_clock_drift_ns),
    hostClockId: r.host_clock_id as string | null,
    hostClockSynced: r.host_clock_synced as boolean | null,
    hostClockEstErrorNs: big(r.host_clock_est_error_ns),
    sourceDb: r.source_db as string | null,
    timeShiftNs: big(r.time_shift_ns)!,
  };
}

function alias(k: number): string {
  return `tt_shard_${k}`;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
