import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { consoleSchema } from "../../../reports/dashboard/run_data.ts";

Deno.test("consoleSchema() gives the browser types its read_csv literal can carry", async () => {
  const store = await Store.open(":memory:");
  try {
    const schema = await consoleSchema(store);
    const channel = schema.tables.token_events.find((c) =>
      c.name === "channel"
    );
    assert.equal(
      channel?.type,
      "VARCHAR",
      "the ENUM channel reaches the browser as its names",
    );
    for (const [table, columns] of Object.entries(schema.tables)) {
      for (const c of columns) {
        assert.ok(!c.type.includes("'"), `${table}.${c.name}: ${c.type}`);
      }
    }
  } finally {
    store.close();
  }
});
