import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { Store } from "../../harness/store.ts";
import { Recorder } from "../../harness/recorder.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../harness/schema.ts";

async function tempDbPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-store-" });
  return `${dir}/results.duckdb`;
}

Deno.test("Store.open() creates a new file at the current schema version", async () => {
  const path = await tempDbPath();
  const store = await Store.open(path);
  assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
  const tables = await store.query(
    "select table_name from information_schema.tables where table_schema = 'main' order by 1",
  );
  assert.deepEqual(tables.map((t) => t.table_name), [
    "calibrations",
    "engine_steps",
    "engine_tokens",
    "requests",
    "run_groups",
    "run_shards",
    "runs",
    "sweeps",
    "token_events",
    "tokentrace_schema",
  ]);
  store.close();
});

Deno.test("Store.open() migrates a foreign DuckDB file forward when told to", async () => {
  const path = await tempDbPath();
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  await c.run("create table unrelated(x integer)");
  c.closeSync();
  inst.closeSync();
  const store = await Store.open(path, { allowForeignTables: true });
  assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
  const n = await store.query("select count(*)::int as n from unrelated");
  assert.equal(n[0].n, 0);
  store.close();
});

Deno.test("Store.open() refuses a file of a newer schema version", async () => {
  const path = await tempDbPath();
  const store = await Store.open(path);
  await store.exec(
    "insert into tokentrace_schema values (99, 'future', now())",
  );
  store.close();
  await assert.rejects(
    Store.open(path),
    new Error(
      `Result database "${path}" has schema version 99, newer than this tokentrace's ${SCHEMA_VERSION}: upgrade tokentrace to read it`,
    ),
  );
});

Deno.test("Store.open() read-only on a missing file names the file", async () => {
  const path = await tempDbPath();
  await assert.rejects(
    Store.open(path, { readOnly: true }),
    new Error(
      `Result database "${path}" does not exist: pass --db with the file a run wrote`,
    ),
  );
});

Deno.test("Recorder round-trips a run, its requests and token events", async () => {
  const path = await tempDbPath();
  const rec = await Recorder.start(path, {
    runId: "run-a",
    label: "nightly",
    backend: "openai",
    workload: { source: "x.csv" },
    options: { speedup: 2 },
    toolVersion: "0.1.0",
    clockOriginUnixNs: 1_763_770_000_123_456_789n,
  }, { batchRows: 2 });
  rec.setBackendInfo({ backend: "openai", model: "m" });
  rec.token("r0", 0, 1_000_000n, 1, "content");
  rec.token("r0", 1, 2_500_000n, 2, "reasoning");
  rec.token("r0", 2, 2_600_000n, 1, "tool");
  rec.request({
    reqId: "r0",
    traceIndex: 7,
    scheduledNs: 100n,
    sentNs: 150n,
    firstByteNs: 900_000n,
    firstTokenNs: 1_000_000n,
    lastTokenNs: 2_600_000n,
    doneNs: 2_700_000n,
    inputTokensPlanned: 10,
    outputTokensPlanned: 4,
    promptTokensReported: 10,
    completionTokensReported: 4,
    outputChunks: 3,
    outputTokensCounted: 4,
    status: "ok",
    finishReason: "length",
  });
  rec.request({
    reqId: "r1",
    scheduledNs: 200n,
    sentNs: 210n,
    inputTokensPlanned: 5,
    outputTokensPlanned: 1,
    outputChunks: 0,
    outputTokensCounted: 0,
    status: "error",
    httpStatus: 500,
    errorKind: "http",
    error: "boom",
  });
  const stats = await rec.finish("completed");
  assert.deepEqual({ t: stats.tokenRows, r: stats.requestRows }, {
    t: 3,
    r: 2,
  });

  const ro = await Store.open(path, { readOnly: true });
  const run = (await ro.query(
    `select run_id, label, status, backend, options::varchar as o, backend_info::varchar as b,
       clock_origin_unix_ns, finished_at is not null as ended from runs`,
  ))[0];
  assert.deepEqual(run, {
    run_id: "run-a",
    label: "nightly",
    status: "completed",
    backend: "openai",
    o: '{"speedup":2}',
    b: '{"backend":"openai","model":"m"}',
    clock_origin_unix_ns: 1_763_770_000_123_456_789n,
    ended: true,
  });
  const toks = await ro.query(
    "select req_id, seq, t_ns, n_tokens, channel from token_events order by seq",
  );
  assert.deepEqual(toks, [
    { req_id: "r0", seq: 0, t_ns: 1_000_000n, n_tokens: 1, channel: "content" },
    {
      req_id: "r0",
      seq: 1,
      t_ns: 2_500_000n,
      n_tokens: 2,
      channel: "reasoning",
    },
    { req_id: "r0", seq: 2, t_ns: 2_600_000n, n_tokens: 1, channel: "tool" },
  ]);
  const reqs = await ro.query(
    `select req_id, trace_index, sent_ns, first_token_ns, done_ns, output_chunks, status,
       http_status, error_kind, error, finish_reason
     from requests order by req_id`,
  );
  assert.deepEqual(reqs, [
    {
      req_id: "r0",
      trace_index: 7n,
      sent_ns: 150n,
      first_token_ns: 1_000_000n,
      done_ns: 2_700_000n,
      output_chunks: 3,
      status: "ok",
      http_status: null,
      error_kind: null,
      error: null,
      finish_reason: "length",
    },
    {
      req_id: "r1",
      trace_index: null,
      sent_ns: 210n,
      first_token_ns: null,
      done_ns: null,
      output_chunks: 0,
      status: "error",
      http_status: 500,
      error_kind: "http",
      error: "boom",
      finish_reason: null,
    },
  ]);
  ro.close();
});

Deno.test("Recorder.flush() commits buffered rows while the run goes on", async () => {
  const path = await tempDbPath();
  const rec = await Recorder.start(path, {
    runId: "run-b",
    backend: "openai",
    toolVersion: "0",
    clockOriginUnixNs: 0n,
  }, { batchRows: 3, flushIntervalMs: 60_000 });
  for (let i = 0; i < 7; i++) rec.token("r", i, BigInt(i), 1, "content");
  await rec.flush();
  assert.equal(rec.stats.tokenRows, 7);
  assert.equal(rec.stats.flushes, 3); // two full batches of 3, then the flushed remainder
  await rec.finish("aborted", "SIGINT");
  const ro = await Store.open(path, { readOnly: true });
  assert.deepEqual(
    await ro.query(
      "select status, end_reason, (select count(*)::int from token_events) as n from runs",
    ),
    [{ status: "aborted", end_reason: "SIGINT", n: 7 }],
  );
  ro.close();
});

Deno.test("Recorder.start() reports a database it cannot open", async () => {
  const path = await tempDbPath();
  const store = await Store.open(path);
  await store.exec(
    "insert into tokentrace_schema values (99, 'future', now())",
  );
  store.close();
  await assert.rejects(
    Recorder.start(path, {
      runId: "x",
      backend: "b",
      toolVersion: "0",
      clockOriginUnixNs: 0n,
    }),
    new Error(
      `Result database "${path}" has schema version 99, newer than this tokentrace's ${SCHEMA_VERSION}: upgrade tokentrace to read it`,
    ),
  );
});

Deno.test("MIGRATIONS are numbered 1..N without gaps or repeats", () => {
  const versions = MIGRATIONS.map((m) => m.version).sort((a, b) => a - b);
  assert.deepEqual(
    versions,
    Array.from({ length: versions.length }, (_, i) => i + 1),
  );
  assert.equal(SCHEMA_VERSION, versions.length);
});

Deno.test("Store.createGroup() records a group and createRun() its runs", async () => {
  const path = await tempDbPath();
  const store = await Store.open(path);
  try {
    await store.createGroup({
      groupId: "g1",
      label: "base",
      kind: "repeat",
      repeats: 2,
    });
    for (const index of [0, 1]) {
      await store.createRun({
        runId: `r${index}`,
        backend: "openai",
        toolVersion: "0",
        clockOriginUnixNs: 0n,
        group: { groupId: "g1", index },
      });
    }
    assert.deepStrictEqual(
      await store.query(
        `select g.label, g.kind, g.repeats, r.run_id, r.group_index
         from runs as r join run_groups as g using (group_id) order by r.group_index`,
      ),
      [
        {
          label: "base",
          kind: "repeat",
          repeats: 2,
          run_id: "r0",
          group_index: 0,
        },
        {
          label: "base",
          kind: "repeat",
          repeats: 2,
          run_id: "r1",
          group_index: 1,
        },
      ],
    );
  } finally {
    store.close();
  }
});
