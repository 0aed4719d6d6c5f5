import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { Store } from "../../harness/store.ts";
import { cliCommand, waitFor, writeAzureTrace } from "./_cli.ts";

/** Resolves once the database's write-ahead log has grown `times` times (commits landed). */
export async function walGrowth(db: string, times: number): Promise<void> {
  const size = () => {
    try {
      return Deno.statSync(`${db}.wal`).size;
    } catch {
      return 0;
    }
  };
  for (let i = 0; i < times; i++) {
    const before = size();
    await waitFor(() => size() > before, 60_000, `commit ${i + 1} in ${db}`);
  }
}

Deno.test("tokentrace run: after kill -9 every sent request is in_flight and no token row is orphaned", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 50 },
    recordSends: false,
  });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-crash-" });
  const db = `${dir}/r.duckdb`;
  // 12 requests at once, each streaming 400 tokens 50 ms apart (20 s): all are in flight when
  // the process is killed.
  await writeAzureTrace(`${dir}/t.csv`, 12, 0, 8, 400);
  const child = cliCommand([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    db,
    "--quiet",
  ]).spawn();
  try {
    await waitFor(
      async () => {
        const s = await server.stats();
        return s.received >= 12 && s.chunks >= 24;
      },
      60_000,
      "12 requests at the server, streaming",
    );
    // Every request was sent before these commits were posted: three commits later its
    // in-flight row is in the file.
    await walGrowth(db, 3);
  } finally {
    child.kill("SIGKILL");
    await child.output();
    await server.close();
  }
  const store = await Store.open(db, { readOnly: true });
  try {
    assert.deepEqual(await store.query("select status from runs"), [{
      status: "running",
    }]);
    assert.deepEqual(
      await store.query(
        "select status, count(*)::int as n, count(sent_ns)::int as sent from requests group by all",
      ),
      [{ status: "in_flight", n: 12, sent: 12 }],
    );
    assert.deepEqual(
      await store.query(
        `select count(*)::int as orphans from token_events t
         where not exists (select 1 from requests r where r.run_id = t.run_id and r.req_id = t.req_id)`,
      ),
      [{ orphans: 0 }],
    );
    const tokens = await store.query(
      "select count(*)::int as n from token_events",
    );
    assert.ok((tokens[0].n as number) > 0, "token rows were committed");
  } finally {
    store.close();
  }
});
