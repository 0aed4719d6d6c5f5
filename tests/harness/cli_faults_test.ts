import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import {
  runCli,
  startScriptedProcess,
  waitFor,
  writeAzureTrace,
} from "./_cli.ts";

Deno.test("tokentrace run: a server killed mid-run gives per-request errors and a completed run", async () => {
  const server = await startScriptedProcess([
    "--ttft-ms",
    "10",
    "--itl-ms",
    "50",
    "--send-log",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-kill-" });
  // 40 requests 25 ms apart, 100 tokens each (~5 s of streaming); the server dies once 5
  // requests have arrived, so the ones streaming then and the ones sent after fail.
  await writeAzureTrace(`${dir}/t.csv`, 40, 25, 8, 100);
  const run = runCli([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    `${dir}/r.duckdb`,
    "--quiet",
  ]);
  await waitFor(
    async () => (await server.arrivals()).size >= 5,
    60_000,
    "5 requests at the server",
  );
  await server.close();
  const r = await run;
  const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
  try {
    // The run completes either way; it exits 1 when no request succeeded (the server may
    // have died before the first one was answered), else 0.
    const ok = (await store.query(
      "select count(*)::int as n from requests where status = 'ok'",
    ))[0].n;
    assert.equal(r.code, ok === 0 ? 1 : 0, r.stderr);
    if (ok === 0) {
      assert.ok(r.stderr.includes(": no request succeeded ("), r.stderr);
    }
    assert.deepEqual(await store.query("select status from runs"), [{
      status: "completed",
    }]);
    const rows = await store.query(
      `select status, error_kind, count(*)::int as n from requests group by all order by all`,
    );
    const byKind = Object.fromEntries(
      rows.map((x) => [`${x.status}/${x.error_kind}`, x.n]),
    );
    assert.equal(
      rows.reduce((a, x) => a + (x.n as number), 0),
      40,
      JSON.stringify(rows),
    );
    assert.ok((byKind["error/network"] as number) > 0, JSON.stringify(rows));
    const msg = await store.query(
      "select error from requests where error_kind = 'network' limit 1",
    );
    assert.match(msg[0].error as string, /failed/);
  } finally {
    store.close();
  }
});

Deno.test("tokentrace run: closed loop and limits from the command line", async () => {
  const server = await startScriptedProcess([
    "--ttft-ms",
    "5",
    "--itl-ms",
    "5",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-closed-" });
  await writeAzureTrace(`${dir}/t.csv`, 30, 1000, 8, 4);
  try {
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/t.csv`,
      "--url",
      server.url,
      "--db",
      `${dir}/r.duckdb`,
      "--users",
      "2",
      "--max-sent",
      "10",
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
    const n = await store.query(
      "select count(*)::int as n, max(attempt)::int as a from requests",
    );
    store.close();
    // Closed loop ignores the trace's 1 s gaps: 10 requests back to back, well under 10 s.
    assert.deepEqual(n, [{ n: 10, a: 0 }]);
  } finally {
    await server.close();
  }
});

Deno.test("tokentrace run: load flags are validated with their names", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--think", "1"],
      'Option --think: expected --users too (think time is for a closed loop), got "1"',
    ],
    [
      ["--ramp-up", "quick"],
      'Option --ramp-up: expected linear:<seconds> or stepped:<seconds>[:<steps>], e.g. linear:30 or stepped:60:4, got "quick"',
    ],
    [
      ["--cancel-rate", "2"],
      'Option --cancel-rate: expected a fraction in [0, 1], got "2"',
    ],
    [
      ["--stop-error-rate", "0.5"],
      'Option --stop-error-rate: expected <fraction>:<window seconds>, e.g. 0.2:30, got "0.5"',
    ],
  ];
  for (const [flags, message] of cases) {
    await t.step(flags.join(" "), async () => {
      const r = await runCli([
        "run",
        "--trace",
        "x.csv",
        "--url",
        "http://127.0.0.1:9",
        ...flags,
      ]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr.trim().split("\n").at(-1),
        `tokentrace: error: ${message}`,
      );
    });
  }
});
