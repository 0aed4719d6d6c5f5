import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { OWNED_TABLES, Store } from "../../harness/store.ts";
import { Recorder } from "../../harness/recorder.ts";
import { SCHEMA_VERSION } from "../../harness/schema.ts";

async function tempDbPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-safety-" });
  return `${dir}/results.duckdb`;
}

/** Creates a DuckDB file with `statements` run on it, as another program would. */
async function foreignFile(path: string, statements: string[]): Promise<void> {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  for (const s of statements) await c.run(s);
  c.closeSync();
  inst.closeSync();
}

/** The base tables of a file, sorted, read without tokentrace. */
async function tablesOf(path: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  const rows = (await c.runAndReadAll(
    `select table_name from information_schema.tables
     where table_schema = 'main' and table_type = 'BASE TABLE' order by 1`,
  )).getRowObjectsJson();
  c.closeSync();
  inst.closeSync();
  return rows.map((r) => String(r.table_name));
}

Deno.test("Store.open() refuses a file with tables tokentrace does not own and writes nothing", async () => {
  const path = await tempDbPath();
  await foreignFile(path, [
    "create table orders(id integer)",
    "insert into orders values (1)",
  ]);
  await assert.rejects(
    Store.open(path),
    new Error(
      `Result database "${path}" holds 1 table(s) tokentrace does not own ("orders"): it is not a tokentrace results file, or tables were added to it. Nothing was written. Pass --db with another file, or (tokentrace run) --allow-foreign-db to write into this one anyway`,
    ),
  );
  assert.deepEqual(await tablesOf(path), ["orders"]);
});

Deno.test("Store.open() refuses tables added to a tokentrace file, unless told", async () => {
  const path = await tempDbPath();
  (await Store.open(path)).close();
  await foreignFile(path, ["create table my_notes(t varchar)"]);
  await assert.rejects(Store.open(path), /"my_notes"/);
  const store = await Store.open(path, { allowForeignTables: true });
  assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
  store.close();
  // Reading never writes, so it needs no permission.
  (await Store.open(path, { readOnly: true })).close();
});

Deno.test("Store.open() leaves the file untouched when a migration fails, version table included", async () => {
  const path = await tempDbPath();
  // A `runs` table of another shape: migration 1 cannot create its own.
  await foreignFile(path, ["create table runs(x integer)"]);
  await assert.rejects(
    Store.open(path),
    /^Error: Migration of ".*" from schema version 0 failed at version 1, nothing was changed: /,
  );
  assert.deepEqual(await tablesOf(path), ["runs"]);
});

Deno.test("Store.open() applies all pending migrations or none", async () => {
  const path = await tempDbPath();
  // Versions 1..7 would apply; version 8 renames `requests` to this name and fails.
  await foreignFile(path, ["create table requests_v7(x integer)"]);
  await assert.rejects(
    Store.open(path, { allowForeignTables: true }),
    /from schema version 0 failed at version 8, nothing was changed/,
  );
  assert.deepEqual(await tablesOf(path), ["requests_v7"]);
});

Deno.test("OWNED_TABLES names every table the migrations create", async () => {
  const path = await tempDbPath();
  (await Store.open(path)).close();
  assert.deepEqual(await tablesOf(path), [...OWNED_TABLES].sort());
});

Deno.test("Recorder writes a request's row when it is sent and completes it when it ends", async () => {
  const path = await tempDbPath();
  const rec = await Recorder.start(path, {
    runId: "run-a",
    backend: "openai",
    toolVersion: "0",
    clockOriginUnixNs: 0n,
  });
  const sent = {
    reqId: "r0",
    scheduledNs: 100n,
    sentNs: 150n,
    inputTokensPlanned: 10,
    outputTokensPlanned: 2,
    outputChunks: 0,
    outputTokensCounted: 0,
    status: "error" as const, // what a tracker holds before the end; stored as in_flight
  };
  rec.requestSent(sent);
  rec.token("r0", 0, 1_000n, 1, "content");
  await rec.flush();
  const read = async () => {
    const store = await Store.open(path, { readOnly: true });
    try {
      return await store.query(
        `select r.req_id, r.status, r.sent_ns, count(t.seq)::int as tokens
         from requests r left join token_events t using (run_id, req_id)
         group by all order by all`,
      );
    } finally {
      store.close();
    }
  };
  // Committed while the run goes on (read-only: this process's lock is the recorder's).
  assert.deepEqual(await read(), [{
    req_id: "r0",
    status: "in_flight",
    sent_ns: 150n,
    tokens: 1,
  }]);
  rec.token("r0", 1, 2_000n, 1, "content");
  rec.request({
    ...sent,
    outputChunks: 2,
    outputTokensCounted: 2,
    status: "ok",
  });
  // Ended without ever being sent: inserted whole.
  rec.request({
    ...sent,
    reqId: "r1",
    sentNs: undefined,
    status: "cancelled",
  });
  await rec.finish("completed");
  assert.deepEqual(await read(), [
    { req_id: "r0", status: "ok", sent_ns: 150n, tokens: 2 },
    { req_id: "r1", status: "cancelled", sent_ns: null, tokens: 0 },
  ]);
});

Deno.test("Recorder keeps one final row per request and every token across many batches", async () => {
  // Past the point where the token stage is recreated (2^20 rows), with requests sent and ended
  // in the same batch, in different batches, never sent, and ids that need quoting in SQL.
  const path = await tempDbPath();
  const rec = await Recorder.start(path, {
    runId: "run-b",
    backend: "openai",
    toolVersion: "0",
    clockOriginUnixNs: 0n,
  }, { batchRows: 100_000 });
  const row = (reqId: string) => ({
    reqId,
    scheduledNs: 1n,
    sentNs: 2n,
    inputTokensPlanned: 1,
    outputTokensPlanned: 1,
    outputChunks: 0,
    outputTokensCounted: 0,
    status: "error" as const,
  });
  const ids = Array.from({ length: 60 }, (_, i) => `r'${i}`);
  const perRequest = 20_000; // 1.2 M token rows in all
  for (const [i, id] of ids.entries()) {
    rec.requestSent(row(id));
    for (let k = 0; k < perRequest; k++) {
      rec.token(id, k, BigInt(i * perRequest + k), 1, "content");
    }
    // Every third request ends at once (same batch), the others after the next one's tokens.
    if (i % 3 === 0) rec.request({ ...row(id), status: "ok" });
    else if (i > 0 && i % 3 === 2) {
      rec.request({ ...row(ids[i - 1]), status: "ok" });
      rec.request({ ...row(id), status: "ok" });
    }
  }
  rec.request({ ...row("never sent"), sentNs: undefined, status: "cancelled" });
  await rec.finish("completed");
  const store = await Store.open(path, { readOnly: true });
  try {
    const [r] = await store.query(
      `select (select count(*)::int from requests) as rows,
              (select count(distinct req_id)::int from requests) as ids,
              (select count(*)::int from requests where status = 'in_flight') as in_flight,
              (select count(*)::int from token_events) as tokens,
              (select count(distinct (req_id, seq))::int from token_events) as distinct_tokens`,
    );
    assert.deepEqual(r, {
      rows: 61,
      ids: 61,
      in_flight: 0,
      tokens: 60 * perRequest,
      distinct_tokens: 60 * perRequest,
    });
  } finally {
    store.close();
  }
});

Deno.test("Recorder rolls a batch that cannot be written back whole and marks the run failed", async () => {
  const path = await tempDbPath();
  const rec = await Recorder.start(path, {
    runId: "run-a",
    backend: "openai",
    toolVersion: "0",
    clockOriginUnixNs: 0n,
  });
  let reported = "";
  rec.onError = (m) => (reported = m);
  // An INTEGER column cannot hold 1e15: the batch's insert fails after its token rows.
  rec.requestSent({
    reqId: "r0",
    scheduledNs: 0n,
    sentNs: 1n,
    inputTokensPlanned: 10,
    outputTokensPlanned: 1e15,
    outputChunks: 0,
    outputTokensCounted: 0,
    status: "error",
  });
  rec.token("r0", 0, 5n, 1, "content");
  await assert.rejects(rec.flush(), /Recording run run-a failed/);
  await assert.rejects(rec.finish("completed"));
  assert.match(reported, /Recording run run-a failed/);
  const store = await Store.open(path, { readOnly: true });
  try {
    assert.deepEqual(
      await store.query(
        `select (select status from runs) as status,
           (select count(*)::int from requests) as requests,
           (select count(*)::int from token_events) as tokens`,
      ),
      [{ status: "failed", requests: 0, tokens: 0 }],
    );
  } finally {
    store.close();
  }
});
