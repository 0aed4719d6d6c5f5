import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { Store } from "../../harness/store.ts";
import { liveSnapshotPath } from "../../harness/_live_snapshot.ts";
import { cliCommand, runCli, waitFor, writeAzureTrace } from "./_cli.ts";
import { tracePath } from "../_fixtures.ts";

/**
 * Resolves once the run's live snapshot (`<db>.live`, copied from committed data) holds a token
 * row: a commit with token rows is then in the database itself.
 */
async function committedTokens(
  db: string,
  ended: () => boolean,
): Promise<void> {
  await waitFor(
    async () => {
      // The snapshot goes with a finished run: say so instead of waiting out the timeout.
      if (ended()) {
        throw new Error("the run ended before a token row was committed");
      }
      let s: Store;
      try {
        s = await Store.open(liveSnapshotPath(db), { readOnly: true });
      } catch {
        return false; // not written yet, or being replaced
      }
      try {
        const r = await s.query("select count(*)::int as n from token_events");
        return (r[0].n as number) > 0;
      } finally {
        s.close();
      }
    },
    60_000,
    "a committed token row (live snapshot)",
  );
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "tokentrace-cli-" });
}

Deno.test("tokentrace run: SIGINT aborts, flushes and marks the run aborted", async () => {
  await interruptedRun([]);
});

Deno.test("tokentrace run --workers 2: SIGINT aborts every sender, flushes and marks the run aborted", async () => {
  await interruptedRun(["--workers", "2"]);
});

async function interruptedRun(extra: string[]): Promise<void> {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 20, ttftPerInputTokenMs: 0, itlMs: 10 },
  });
  const dir = await tempDir();
  await writeAzureTrace(`${dir}/t.csv`, 60, 20, 16, 300); // each request streams ~3 s
  const child = cliCommand([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    `${dir}/r.duckdb`,
    "--label",
    "interrupted",
    ...extra,
  ]).spawn();
  await waitFor(
    async () => {
      const s = await server.stats();
      return s.received >= 20 && s.chunks >= 100;
    },
    60_000,
    "20 requests sent and 100 token chunks streamed",
  );
  child.kill("SIGINT");
  const out = await child.output();
  const stats = await server.stats();
  await server.close();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /aborted by SIGINT/);

  const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
  const run = await store.query(
    "select status, end_reason, finished_at is not null as ended from runs",
  );
  assert.deepEqual(run, [{
    status: "aborted",
    end_reason: "SIGINT",
    ended: true,
  }]);
  const reqs = await store.query(
    `select count(*)::int as n, count(*) filter (where status = 'cancelled')::int as cancelled,
       count(*) filter (where status = 'ok')::int as ok from requests`,
  );
  // Every request that reached the server is recorded; those still streaming are cancelled.
  // A request being sent at the signal is recorded (cancelled) though the server's handler
  // may never have seen it.
  const n = reqs[0].n as number, cancelled = reqs[0].cancelled as number;
  assert.ok(n >= stats.received, `${n} rows for ${stats.received} received`);
  assert.ok(
    n - stats.received <= cancelled,
    `the ${n - stats.received} rows the server did not see are cancelled ones`,
  );
  assert.ok((reqs[0].cancelled as number) > 0, "some requests were in flight");
  assert.ok((reqs[0].n as number) < 60, "sending stopped at the signal");
  const mismatch = await store.query(
    `select r.req_id, r.output_chunks, count(t.seq)::int as rows
     from requests r left join token_events t using (run_id, req_id)
     group by all having count(t.seq) <> r.output_chunks`,
  );
  assert.deepEqual(
    mismatch,
    [],
    "every received token of every request is stored",
  );
  const tokens = await store.query(
    "select count(*)::int as n from token_events",
  );
  assert.ok((tokens[0].n as number) > 0);
  store.close();
}

Deno.test("tokentrace run: a killed process leaves a readable database, run still running", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 20, ttftPerInputTokenMs: 0, itlMs: 10 },
    recordSends: false,
  });
  const dir = await tempDir();
  // 1,500 requests 20 ms apart: a run of 30 s and more, so that even a starved recorder (nice 10
  // on a 2-core machine that other work keeps busy) commits tokens while the run still goes on.
  await writeAzureTrace(`${dir}/t.csv`, 1500, 20, 16, 300);
  const child = cliCommand([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    `${dir}/r.duckdb`,
  ]).spawn();
  let ended = false;
  child.status.then(() => (ended = true));
  await waitFor(
    async () => (await server.stats()).received >= 20,
    60_000,
    "20 requests sent",
  );
  // Request rows are committed at send, token rows later: wait for a token row on disk.
  await committedTokens(`${dir}/r.duckdb`, () => ended);
  child.kill("SIGKILL");
  await child.output();
  await server.close();
  const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
  const run = await store.query("select status from runs");
  assert.deepEqual(run, [{ status: "running" }]);
  const tokens = await store.query(
    "select count(*)::int as n from token_events",
  );
  assert.ok((tokens[0].n as number) > 0, "flushed batches survive the crash");
  store.close();
});

Deno.test("tokentrace run: bad input fails before the run with a clear message", async (t) => {
  const dir = await tempDir();
  await t.step("missing trace file", async () => {
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/none.csv`,
      "--url",
      "http://127.0.0.1:9",
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      `tokentrace: error: Trace "${dir}/none.csv": file not found: check the path, or pass --trace with an existing file`,
    );
  });
  await t.step("malformed CSV row names file and line", async () => {
    await Deno.writeTextFile(
      `${dir}/bad.csv`,
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.0,12x,5\n",
    );
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/bad.csv`,
      "--url",
      "http://127.0.0.1:9",
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      `tokentrace: error: Trace "${dir}/bad.csv", line 3, field "ContextTokens": expected an integer token count >= 0, got "12x"`,
    );
  });
  await t.step(
    "unreachable URL: error before the run starts, no run recorded",
    async () => {
      await writeAzureTrace(`${dir}/ok.csv`, 3, 10, 8, 2);
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      const r = await runCli([
        "run",
        "--trace",
        `${dir}/ok.csv`,
        "--url",
        `http://127.0.0.1:${port}`,
        "--db",
        `${dir}/unreached.duckdb`,
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^tokentrace: error: Cannot reach http://127\\.0\\.0\\.1:${port}/v1/models`,
        ),
      );
      await assert.rejects(
        Deno.stat(`${dir}/unreached.duckdb`),
        Deno.errors.NotFound,
      );
    },
  );
  await t.step("bad flag value names the flag", async () => {
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/ok.csv`,
      "--url",
      "http://x",
      "--speedup",
      "fast",
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      'tokentrace: error: Option --speedup: expected a number > 0, got "fast"',
    );
  });
});

Deno.test("tokentrace run: HTTP 500 on some requests is recorded per request and the run goes on", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0, itlMs: 2 },
    failEvery: 3,
    recordSends: false,
  });
  const dir = await tempDir();
  await writeAzureTrace(`${dir}/t.csv`, 12, 10, 8, 5);
  const r = await runCli([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    `${dir}/r.duckdb`,
    "--json",
    "--quiet",
  ]);
  await server.close();
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.schema, "tokentrace.report/v2");
  const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
  const rows = await store.query(
    `select status, http_status, error_kind, count(*)::int as n from requests
     group by all order by status`,
  );
  assert.deepEqual(rows, [
    { status: "error", http_status: 500, error_kind: "http", n: 4 },
    { status: "ok", http_status: null, error_kind: null, n: 8 },
  ]);
  const err = await store.query(
    "select error from requests where status = 'error' limit 1",
  );
  assert.match(err[0].error as string, /Scripted failure/);
  assert.deepEqual(await store.query("select status from runs"), [{
    status: "completed",
  }]);
  store.close();
});

Deno.test({
  name:
    "tokentrace run: first 200 Azure conversation requests, every request and token stored",
  fn: async () => {
    const server = await startScriptedWorker({
      timing: { ttftBaseMs: 5, ttftPerInputTokenMs: 0.001, itlMs: 1 },
      recordSends: false,
    });
    const dir = await tempDir();
    const trace = await tracePath(
      "azure_llm_2023/AzureLLMInferenceTrace_conv.csv",
    );
    const r = await runCli([
      "run",
      "--trace",
      trace,
      "--max-requests",
      "200",
      "--speedup",
      "20",
      "--url",
      server.url,
      "--endpoint-kind",
      "vllm",
      "--db",
      `${dir}/azure.duckdb`,
      "--label",
      "azure-200",
      "--slo",
      "ttft=1000,tpot=100",
    ]);
    await server.close();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /goodput/);
    const store = await Store.open(`${dir}/azure.duckdb`, { readOnly: true });
    const planned = await store.query(
      `select sum(output_tokens_planned)::int as tokens, count(*)::int as n,
         count(*) filter (where status = 'ok')::int as ok,
         sum(completion_tokens_reported)::int as reported from requests`,
    );
    const tokens = await store.query(
      "select count(*)::int as n from token_events",
    );
    // The first 200 rows of the trace (ids 0..199 in arrival order) ask for this many tokens:
    const expected = await store.query(
      `select sum(GeneratedTokens)::int as s from (select * from read_csv('${trace}') limit 200)`,
    );
    assert.deepEqual(planned, [{
      tokens: expected[0].s,
      n: 200,
      ok: 200,
      reported: expected[0].s,
    }]);
    assert.equal(tokens[0].n, expected[0].s);
    store.close();

    const rep = await runCli([
      "report",
      "--db",
      `${dir}/azure.duckdb`,
      "--run",
      "azure-200",
      "--format",
      "json",
    ]);
    assert.equal(rep.code, 0, rep.stderr);
    const j = JSON.parse(rep.stdout);
    assert.deepEqual(j.requests, {
      total: 200,
      ok: 200,
      error: 0,
      timeout: 0,
      cancelled: 0,
    });
    assert.equal(j.run.label, "azure-200");
    assert.equal(j.throughput.output_tokens, expected[0].s);
  },
});
