import assert from "node:assert/strict";
import {
  type HostileMode,
  startHostileServer,
} from "../../adapters/scripted/mod.ts";
import { Store } from "../../harness/store.ts";
import { installViews } from "../../reports/mod.ts";
import { runCli, writeAzureTrace } from "./_cli.ts";

/** Runs 3 requests of 10 planned tokens against a server in `mode`; returns the CLI output and the db. */
async function runAgainst(mode: HostileMode) {
  const server = startHostileServer(mode, { tokens: 10 });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-usage-" });
  await writeAzureTrace(`${dir}/t.csv`, 3, 50, 8, 10);
  try {
    const r = await runCli([
      "run",
      "--trace",
      `${dir}/t.csv`,
      "--url",
      server.url,
      "--db",
      `${dir}/r.duckdb`,
      "--json",
    ]);
    return { r, db: `${dir}/r.duckdb` };
  } finally {
    await server.close();
  }
}

Deno.test("tokentrace run: output counts come from the stream, usage kept beside and flagged", async (t) => {
  for (
    const [mode, reported] of [["usage-high", 50], ["usage-low", 1]] as const
  ) {
    await t.step(`${mode}: usage ${reported} for 10 streamed`, async () => {
      const { r, db } = await runAgainst(mode);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      // 10 tokens per request whatever the usage says: the totals follow the stream.
      assert.equal(summary.throughput.output_tokens, 30);
      assert.ok(summary.throughput.output_tokens_per_s > 0);
      const store = await Store.open(db, { readOnly: true });
      try {
        assert.deepEqual(
          await store.query(
            `select status, completion_tokens_reported as reported, output_tokens_counted as counted
             from requests group by all`,
          ),
          [{ status: "ok", reported, counted: 10 }],
        );
      } finally {
        store.close();
      }
      const rw = await Store.open(db);
      try {
        await installViews(rw);
        assert.deepEqual(
          await rw.query(
            `select value, flagged from run_fidelity where check_name = 'usage_vs_stream_mismatch_share'`,
          ),
          [{ value: 1, flagged: true }],
        );
        assert.deepEqual(
          await rw.query(
            "select distinct n_output_tokens, n_output_tokens_reported from request_metrics",
          ),
          [{ n_output_tokens: 10, n_output_tokens_reported: reported }],
        );
      } finally {
        rw.close();
      }
    });
  }
});

Deno.test("tokentrace run: a negative usage is a protocol error of its request, tokens kept", async () => {
  const { r, db } = await runAgainst("usage-negative");
  // Every request failed, so the run completes and exits 1 saying why (the verdicts rule).
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /no request succeeded \(3 of 3 sent failed: protocol x3/,
  );
  const store = await Store.open(db, { readOnly: true });
  try {
    const rows = await store.query(
      `select req_id, status, error_kind, error, completion_tokens_reported as reported,
         output_chunks, (select count(*)::int from token_events t where t.req_id = r.req_id) as rows
       from requests r order by req_id`,
    );
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.deepEqual(
        { ...row, error: undefined },
        {
          req_id: row.req_id,
          status: "error",
          error_kind: "protocol",
          error: undefined,
          reported: null,
          output_chunks: 10,
          rows: 10,
        },
      );
      assert.equal(
        row.error,
        `Request ${row.req_id}: Stream event 10: usage.completion_tokens: expected an integer token count in [0, 2147483647], got -7`,
      );
    }
  } finally {
    store.close();
  }
});
