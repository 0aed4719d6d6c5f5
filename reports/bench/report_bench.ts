/**
 * Benchmark of the reports over a large run: builds (once) a result database with one run of
 * 40,000 requests x 250 one-token chunks = 10 million token events, then times the SQL part
 * (snapshot + every query of the summary and the full HTML report) and the rendering part.
 *
 * Usage: `npx -y deno@2.9.6 run -A reports/bench/report_bench.ts [db path] [--repeat n]`
 * (default path: $TMPDIR/tokentrace-report-bench.duckdb, kept between runs; 3 repeats).
 *
 * The synthetic run: request i is planned at i * 50 ms (20 req/s, 2,000 s), sent 0-2 ms late,
 * first token 100-500 ms later, then a token every 20 ms (+ 0-5 ms jitter), done 1 ms after the
 * last; every request completes with usage equal to the plan. Values come from DuckDB's hash(),
 * so every build is identical.
 *
 * @module
 */
import { Store } from "../../harness/store.ts";
import { renderHtml } from "../render/html.ts";
import { renderTerminal } from "../render/terminal.ts";
import { collectRunReport } from "../results/run_report.ts";
import { openSnapshot } from "../results/snapshot.ts";

const RUN_ID = "bench-10m";
const REQUESTS = 40_000;
const TOKENS = 250;

/** Creates the benchmark database at `path` unless it already holds the run. */
async function build(path: string): Promise<number> {
  const store = await Store.open(path);
  try {
    const have = await store.query(
      `select count(*)::bigint as n from token_events where run_id = $1`,
      [RUN_ID],
    );
    if (Number(have[0].n) === REQUESTS * TOKENS) return 0;
    const t0 = performance.now();
    await store.exec(
      `delete from token_events; delete from requests; delete from runs`,
    );
    await store.exec(
      `insert into runs (run_id, label, started_at, status, backend, tool_version,
         clock_origin_unix_ns)
       values ('${RUN_ID}', '${RUN_ID}', '2026-11-22 00:00:00+00', 'completed', 'synthetic',
         '0.1.0', 0)`,
    );
    await store.exec(
      `insert into requests (run_id, req_id, trace_index, scheduled_ns, sent_ns, first_byte_ns,
         first_token_ns, last_token_ns, done_ns, input_tokens_planned, output_tokens_planned,
         prompt_tokens_reported, completion_tokens_reported, output_chunks,
         output_tokens_counted, status, finish_reason)
       select '${RUN_ID}', 'req-' || i, i, sched, sent, ft - 1000000, ft,
         ft + ${TOKENS - 1}::bigint * 20000000 + 5000000,
         ft + ${TOKENS - 1}::bigint * 20000000 + 6000000,
         input, ${TOKENS}, input, ${TOKENS}, ${TOKENS}, ${TOKENS}, 'ok', 'length'
       from (
         select i, i * 50000000 as sched, i * 50000000 + hash(i, 1) % 2000000 as sent,
           i * 50000000 + hash(i, 1) % 2000000 + 100000000 + hash(i, 2) % 400000000 as ft,
           (500 + hash(i, 3) % 1000)::integer as input
         from range(${REQUESTS}) as t(i))`,
    );
    await store.exec(
      `insert into token_events (run_id, req_id, seq, t_ns, n_tokens, channel)
       select '${RUN_ID}', 'req-' || i, s,
         i * 50000000 + hash(i, 1) % 2000000 + 100000000 + hash(i, 2) % 400000000
           + s * 20000000 + hash(i, s) % 5000000,
         1, 'content'
       from range(${REQUESTS}) as t(i), range(${TOKENS}) as u(s)
       order by i * 50000000 + s * 20000000`,
    );
    return performance.now() - t0;
  } finally {
    store.close();
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const r = args.indexOf("--repeat");
  const repeat = r >= 0 ? Number(args.splice(r, 2)[1]) : 3;
  const path = args[0] ??
    `${Deno.env.get("TMPDIR") ?? "/tmp"}/tokentrace-report-bench.duckdb`;
  const built = await build(path);
  console.log(
    built > 0
      ? `built ${path}: ${REQUESTS} requests x ${TOKENS} tokens in ${
        (built / 1000).toFixed(1)
      } s`
      : `using ${path} (${REQUESTS * TOKENS} token events)`,
  );
  const slo = { ttftMs: 300, tpotMs: 25 };
  for (let k = 1; k <= repeat; k++) {
    const store = await Store.open(path, { readOnly: true });
    try {
      const t0 = performance.now();
      const snapshot = await openSnapshot(store, { runIds: [RUN_ID] });
      const t1 = performance.now();
      const report = await collectRunReport(snapshot, RUN_ID, { slo });
      const t2 = performance.now();
      snapshot.close();
      const text = renderTerminal(report.summary);
      const html = await renderHtml(report);
      const t3 = performance.now();
      console.log(
        `run ${k}: SQL ${((t2 - t0) / 1000).toFixed(2)} s (snapshot ${
          ((t1 - t0) / 1000).toFixed(2)
        } s, queries ${((t2 - t1) / 1000).toFixed(2)} s); render ${
          ((t3 - t2) / 1000).toFixed(2)
        } s (terminal ${text.length} chars, html ${
          (html.length / 1024).toFixed(0)
        } KiB)`,
      );
    } finally {
      store.close();
    }
  }
}
