import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { SCHEMA_VERSION } from "../../harness/schema.ts";
import { CHANNELS } from "../../harness/_recorder_protocol.ts";
import { viewStatements } from "../../reports/sql/views.ts";
import { oldSchemaFile } from "./_old_schema.ts";

const run =
  `insert into runs (run_id, started_at, status, backend, clock_origin_unix_ns)
  values ('r', now(), 'completed', 'openai', 0)`;
const request =
  `insert into requests (run_id, req_id, sent_ns, first_token_ns, status)
  values ('r', 'q', 0, 10, 'ok')`;
const tokens = `insert into token_events values
  ('r', 'q', 0, 10, 1, 'content'), ('r', 'q', 1, 20, 2, 'reasoning'), ('r', 'q', 2, 30, 1, 'tool')`;

Deno.test("schema version 11 turns a version 10 file's channel strings into an ENUM, rows and views intact", async () => {
  // The report views persisted in the file, as `report` leaves them: the column changes under them.
  const views = (await viewStatements("persist")).map((v) => v.sql);
  const path = await oldSchemaFile(10, [run, request, tokens, ...views]);
  const store = await Store.open(path);
  try {
    assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
    const [t] = await store.query(
      "select any_value(typeof(channel)) as t from token_events",
    );
    assert.equal(
      t.t,
      `ENUM(${CHANNELS.map((c) => `'${c}'`).join(", ")})`,
      "the ENUM holds exactly the recorder's channels, in its code order",
    );
    assert.deepStrictEqual(
      await store.query(
        "select seq, t_ns, n_tokens, channel from token_events order by seq",
      ),
      [
        { seq: 0, t_ns: 10n, n_tokens: 1, channel: "content" },
        { seq: 1, t_ns: 20n, n_tokens: 2, channel: "reasoning" },
        { seq: 2, t_ns: 30n, n_tokens: 1, channel: "tool" },
      ],
    );
    // SQL written against the strings keeps working, a name outside the three included.
    assert.deepStrictEqual(
      await store.query(
        `select count(*) filter (where channel = 'reasoning')::int as r,
                count(*) filter (where channel in ('tool', 'other'))::int as t,
                count(*) filter (where channel = 'other')::int as o
         from token_events`,
      ),
      [{ r: 1, t: 1, o: 0 }],
    );
    const [n] = await store.query(
      "select count(*)::int as n from token_bearing_events",
    );
    assert.equal(n.n, 3);
    await assert.rejects(
      store.exec(
        "insert into token_events values ('r', 'q', 3, 40, 1, 'audio')",
      ),
      /Could not convert string 'audio'/,
    );
  } finally {
    store.close();
  }
  // Migrated once, the file reads read-only like any other.
  const reader = await Store.open(path, { readOnly: true });
  try {
    const [n] = await reader.query(
      "select count(*)::int as n from token_events where channel = 'content'",
    );
    assert.equal(n.n, 1);
  } finally {
    reader.close();
  }
});
