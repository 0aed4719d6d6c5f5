/**
 * Load benchmark: generates a BurstGPT-shaped CSV of 10 million rows (6 columns, ~1 % failed
 * rows with 0 response tokens, two models, two log types) and times `readTrace` on it, from the
 * file to the sorted, validated request array. The limit is 15 s on the 2-core dev machine.
 *
 * Run: `deno run -A workloads/bench/load_burstgpt_10m.ts [--rows N] [--keep] [--limit-s S]`
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { readTrace } from "../formats/read_trace.ts";

const args = Deno.args;
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const rows = Number(flag("--rows", "10000000"));
const limitS = Number(flag("--limit-s", "15"));
const dir = await Deno.makeTempDir({ prefix: "tokentrace-bench-" });
const path = `${dir}/BurstGPT_10m.csv`;

let t0 = performance.now();
{
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  // Deterministic rows: seconds with millisecond resolution, lengths from hashes.
  await conn.run(`copy (
    select round(i * 0.37 + (hash(i) % 300) / 1000.0, 3) as "Timestamp",
           case when hash(i + 1) % 5 = 0 then 'GPT-4' else 'ChatGPT' end as "Model",
           (hash(i + 2) % 4000)::bigint + 1 as "Request tokens",
           case when hash(i + 3) % 100 = 0 then 0 else (hash(i + 4) % 1000)::bigint + 1 end
             as "Response tokens",
           0 as "Total tokens",
           case when hash(i + 5) % 3 = 0 then 'API log' else 'Conversation log' end as "Log Type"
    from range(${rows}) t(i) order by i)
    to '${path}' (header, delimiter ',')`);
  conn.closeSync();
  db.closeSync();
}
const genS = (performance.now() - t0) / 1000;
const bytes = (await Deno.stat(path)).size;

t0 = performance.now();
const w = await readTrace(path);
const loadS = (performance.now() - t0) / 1000;

console.log(
  JSON.stringify({
    rows: w.source.rows,
    requests: w.requests.length,
    sourceFailures: w.sourceFailures,
    bytes,
    generate_s: Number(genS.toFixed(2)),
    load_s: Number(loadS.toFixed(2)),
    rows_per_s: Math.round(w.source.rows / loadS),
    limit_s: limitS,
  }),
);
if (!args.includes("--keep")) await Deno.remove(dir, { recursive: true });
else console.error(`Kept ${path}`);
if (loadS > limitS) {
  console.error(`Load took ${loadS.toFixed(2)} s, over the ${limitS} s limit`);
  Deno.exit(1);
}
