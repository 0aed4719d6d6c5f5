/**
 * Sharded-run benchmark (issue 18): N shard processes on this machine replaying one plan of
 * N x `--rate` req/s against `tokentrace scripted-server` (its own process), merged; compared
 * with one shard alone at `--rate`, and with the same plan run unsharded at a rate one host
 * holds; then the merged database exported to a results store and every table and view read
 * back.
 *
 * Usage: `deno run -A reports/bench/shard_bench.ts [--shards 2,4] [--rate 500] [--seconds 15]
 * [--lead 20] [--equal-rate 200]` (`deno task perf:shards`). Prints Markdown tables; the load
 * average is read from /proc/loadavg before each part.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { openParquetStore } from "../../harness/parquet_store.ts";
import { exportStore } from "../../harness/parquet_export.ts";
import { startScriptedProcess } from "../../adapters/scripted/process.ts";
import { type Row, Store } from "../../harness/store.ts";
import { installViews, VIEW_FILES } from "../sql/views.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    shards: { type: "string", default: "2,4" },
    rate: { type: "string", default: "500" },
    seconds: { type: "string", default: "15" },
    lead: { type: "string", default: "20" },
    "equal-rate": { type: "string", default: "200" },
  },
});
const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "tokentrace-shard-bench-" });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const lead = Number(values.lead);

const loadavg = () =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const plan = (total: number, tokens: number, secs: number) => [
  "--synthetic",
  `n=${
    Math.round(total * secs)
  },arrival=poisson:${total},input=fixed:16,output=fixed:${tokens}`,
];

async function cli(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`Command "tokentrace ${args.join(" ")}": ${err}`);
  }
  return err;
}

/** N shard processes of `planArgs` from one start; their database paths. */
async function shardedRun(
  url: string,
  name: string,
  n: number,
  planArgs: string[],
): Promise<string[]> {
  const startAt = String(Math.floor(Date.now() / 1000) + lead);
  const dbs = Array.from(
    { length: n },
    (_, i) => join(dir, `${name}-s${i}.duckdb`),
  );
  await Promise.all(dbs.map((db, i) =>
    cli([
      "run",
      ...planArgs,
      "--url",
      url,
      "--db",
      db,
      "--shard",
      `${i}/${n}`,
      "--start-at",
      startAt,
      "--quiet",
    ])
  ));
  return dbs;
}

async function query(path: string, sql: string): Promise<Row[]> {
  const store = await Store.open(path);
  try {
    await installViews(store);
    return await store.query(sql);
  } finally {
    store.close();
  }
}

const LAG = `select n, p50_ms, p99_ms, max_ms from run_latency_summary
  where metric = 'schedule_lag_ms'`;
const f3 = (v: unknown) => v === null ? "—" : Number(v).toFixed(3);

const text = (v: unknown) =>
  JSON.stringify(v, (_, x) => typeof x === "bigint" ? `${x}n` : x) ??
    String(v);

/** `identical`, `close` (numbers within 1e-12 relative: sums in another order) or `differ`. */
function compareRows(a: Row[], b: Row[]): "identical" | "close" | "differ" {
  if (a.length !== b.length) return "differ";
  let verdict: "identical" | "close" = "identical";
  for (let i = 0; i < a.length; i++) {
    const keys = Object.keys(a[i]);
    if (keys.join() !== Object.keys(b[i]).join()) return "differ";
    for (const k of keys) {
      const x = a[i][k], y = b[i][k];
      if (typeof x === "number" && typeof y === "number") {
        if (x === y) continue;
        if (Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x))) {
          verdict = "close";
        } else return "differ";
      } else if (text(x) !== text(y)) return "differ";
    }
  }
  return verdict;
}

const server = await startScriptedProcess(["--ttft-ms", "5", "--itl-ms", "5"]);
const lines: string[] = [];
try {
  // 1. one shard alone at --rate, then N shards of N x --rate
  lines.push(
    `| run | load avg before | requests (plan / recorded / distinct) | lag p50 | lag p99 | lag max | shards' lag p99 | clock disagreement |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  const alone = loadavg();
  const [single] = await shardedRun(
    server.url,
    "alone",
    1,
    plan(rate, 2, seconds),
  );
  const s = (await query(single, LAG))[0];
  lines.push(
    `| 1 shard alone, ${rate} req/s | ${alone} | ${
      Math.round(rate * seconds)
    } / ${s.n} / ${s.n} | ${f3(s.p50_ms)} | ${f3(s.p99_ms)} | ${
      f3(s.max_ms)
    } | — | — |`,
  );
  for (const n of values.shards.split(",").map(Number)) {
    const before = loadavg();
    const dbs = await shardedRun(
      server.url,
      `n${n}`,
      n,
      plan(n * rate, 2, seconds),
    );
    const perShard = [];
    for (const db of dbs) perShard.push(f3((await query(db, LAG))[0].p99_ms));
    const merged = join(dir, `n${n}-merged.duckdb`);
    await cli(["merge", ...dbs, "--out", merged, "--quiet"]);
    const lag = (await query(merged, LAG))[0];
    const c = (await query(
      merged,
      `select (select count(*) from requests where coalesce(attempt, 0) = 0) as rows,
         (select count(distinct req_id) from requests) as ids,
         (select count(*) from requests where status = 'ok') as ok,
         (select clock_disagreement_ms from run_shard_clock) as clock`,
    ))[0];
    lines.push(
      `| ${n} shards, ${n} x ${rate} req/s | ${before} | ${
        Math.round(n * rate * seconds)
      } / ${c.rows} / ${c.ids} (${c.ok} ok) | ${f3(lag.p50_ms)} | ${
        f3(lag.p99_ms)
      } | ${f3(lag.max_ms)} | ${perShard.join(", ")} | ${
        Number(c.clock).toPrecision(2)
      } ms |`,
    );
  }

  // 2. the same plan sharded and unsharded at a rate one host holds: the two reports
  const eq = Number(values["equal-rate"]);
  const eqPlan = plan(eq, 16, seconds);
  const eqBefore = loadavg();
  const eqDbs = await shardedRun(server.url, "eq", 2, eqPlan);
  const eqMerged = join(dir, "eq-merged.duckdb");
  await cli(["merge", ...eqDbs, "--out", eqMerged, "--quiet"]);
  const whole = join(dir, "eq-whole.duckdb");
  await cli(["run", ...eqPlan, "--url", server.url, "--db", whole, "--quiet"]);
  // the same unsharded run again: how much two runs of one plan differ anyway (A/A)
  const again = join(dir, "eq-again.duckdb");
  await cli(["run", ...eqPlan, "--url", server.url, "--db", again, "--quiet"]);
  const REPORT =
    `select m.metric, m.n, m.p50_ms, m.p99_ms from run_latency_summary as m
    where m.metric in ('ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms', 'schedule_lag_ms')
    order by m.metric_order`;
  const TP = `select n_total, n_ok, output_tokens, request_throughput_rps,
    output_tokens_per_s, w.window_ns / 1e6 as window_ms
    from run_throughput join run_window as w using (run_id)`;
  const reports = [];
  for (const db of [eqMerged, whole, again]) {
    reports.push({
      lat: await query(db, REPORT),
      tp: (await query(db, TP))[0],
    });
  }
  const [m, w, a] = reports;
  const eqClock = (await query(
    eqMerged,
    "select clock_disagreement_ms as c from run_shard_clock",
  ))[0].c;
  lines.push(
    "",
    `Same plan (${eq} req/s, ${seconds} s, 16 output tokens at 5 ms), 2 shards merged vs unsharded; load avg before ${eqBefore}; clock disagreement ${
      Number(eqClock).toPrecision(2)
    } ms`,
    "",
    "| figure | merged (2 shards) | unsharded | merged - unsharded | unsharded again - unsharded (A/A) |",
    "| --- | --- | --- | --- | --- |",
  );
  const d = (x: unknown, y: unknown) => f3(Number(x) - Number(y));
  for (const k of Object.keys(m.tp)) {
    lines.push(
      `| ${k} | ${f3(m.tp[k])} | ${f3(w.tp[k])} | ${d(m.tp[k], w.tp[k])} | ${
        d(a.tp[k], w.tp[k])
      } |`,
    );
  }
  m.lat.forEach((r, i) => {
    for (const p of ["p50_ms", "p99_ms"]) {
      const x = w.lat[i][p];
      lines.push(
        `| ${r.metric} ${p} (n ${r.n} / ${w.lat[i].n}) | ${f3(r[p])} | ${
          f3(x)
        } | ${d(r[p], x)} | ${d(a.lat[i][p], x)} |`,
      );
    }
  });

  // 3. export the merged N-shard databases and read every table and view back
  const storeDir = join(dir, "store");
  for (const n of values.shards.split(",").map(Number)) {
    await exportStore(join(dir, `n${n}-merged.duckdb`), storeDir);
  }
  await exportStore(eqMerged, storeDir);
  const file = await Store.open(eqMerged, { readOnly: true });
  const store = await openParquetStore(storeDir);
  let same = 0;
  const close: string[] = [];
  const differ: string[] = [];
  try {
    await installViews(file);
    await installViews(store);
    const ids = (await file.query("select run_id from runs"))[0]
      .run_id as string;
    const names = [
      "runs",
      "requests",
      "token_events",
      "run_shards",
      ...VIEW_FILES.filter((v) => v.kind === "view").map((v) => v.name),
    ];
    for (const name of names) {
      const cols = (await file.query(`describe ${name}`)).map((r) =>
        r.column_name as string
      );
      const where = cols.includes("run_id")
        ? ` where run_id = '${ids}'`
        : ` where request_key in (select request_key from request_keys where run_id = '${ids}')`;
      const sql = `select * from ${name}${where} order by all`;
      const [a, b] = [await file.query(sql), await store.query(sql)];
      const verdict = compareRows(a, b);
      if (verdict === "identical") same++;
      else if (verdict === "close") close.push(name);
      else differ.push(name);
    }
  } finally {
    file.close();
    store.close();
  }
  lines.push(
    "",
    `Export and re-read (merged run of the equal-rate part, store holding ${
      values.shards.split(",").length + 1
    } merged runs): ${same} of ${
      same + close.length + differ.length
    } tables and views give identical rows${
      close.length
        ? `; ${close.length} equal within 1e-12 relative (floating-point sums added in another order: ${
          close.join(", ")
        })`
        : ""
    }${differ.length ? `; DIFFER: ${differ.join(", ")}` : ""}`,
  );
} finally {
  await server.close();
}
console.log(lines.join("\n"));
console.log(`\n(databases in ${dir}; load avg after: ${loadavg()})`);
