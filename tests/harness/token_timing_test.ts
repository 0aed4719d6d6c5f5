import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { runCli, startScriptedProcess, writeAzureTrace } from "./_cli.ts";

/**
 * Runs `tokentrace run` (one process) against `tokentrace scripted-server` (another process, as
 * a remote server would be) and returns |stored token time - server send time| for every token;
 * fails if a token is missing, unmatched, or stored before the server sent it.
 */
async function tokenErrorsMs(): Promise<number[]> {
  const server = await startScriptedProcess([
    "--ttft-ms",
    "30",
    "--ttft-per-token-ms",
    "0",
    "--itl-ms",
    "15",
    "--send-log",
  ]);
  try {
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-timing-" });
    // 24 requests 25 ms apart, 12 tokens each at 15 ms: up to ~8 streams overlap.
    await writeAzureTrace(`${dir}/t.csv`, 24, 25, 32, 12);
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/t.csv`,
      "--url",
      server.url,
      "--endpoint-kind",
      "vllm",
      "--db",
      `${dir}/r.duckdb`,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const sendLog = await server.sendLog();
    const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
    try {
      // The run clock is anchored to the wall clock once (runs.clock_origin_unix_ns).
      const rows = await store.query(
        `select t.req_id, t.seq, r.clock_origin_unix_ns + t.t_ns as unix_ns
         from token_events t join runs r using (run_id) order by t.req_id, t.seq`,
      );
      assert.equal(rows.length, 24 * 12);
      return rows.map((row) => {
        const sent = sendLog.get(row.req_id as string)![row.seq as number];
        const err = Number(row.unix_ns as bigint) / 1e6 - sent;
        assert.ok(
          err >= -0.05,
          `token ${row.req_id}#${row.seq} stored ${err} ms before it was sent`,
        );
        return Math.abs(err);
      });
    } finally {
      store.close();
    }
  } finally {
    await server.close();
  }
}

// How close the stored times are (p50/p99/max error) is a measurement, not a unit test: it
// depends on the machine and its load. `deno task perf:harness` prints it (docs/perf.md).
Deno.test("tokentrace run stores every token, each at or after the server's send time", async () => {
  const errs = await tokenErrorsMs();
  assert.equal(errs.length, 24 * 12);
  assert.ok(errs.every(Number.isFinite));
});
