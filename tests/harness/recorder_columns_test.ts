import assert from "node:assert/strict";
import {
  type Column,
  ENGINE_STEP_COLUMNS,
  ENGINE_TOKEN_COLUMNS,
  REQUEST_COLUMNS,
} from "../../harness/_recorder_columns.ts";
import { Store } from "../../harness/store.ts";

Deno.test("the recorder's column tables are the migrated schema's columns, in order and type", async (t) => {
  const dir = await Deno.makeTempDir();
  const store = await Store.open(`${dir}/schema.duckdb`);
  try {
    const tables: [string, readonly Column<never>[]][] = [
      ["requests", REQUEST_COLUMNS as readonly Column<never>[]],
      ["engine_steps", ENGINE_STEP_COLUMNS as readonly Column<never>[]],
      ["engine_tokens", ENGINE_TOKEN_COLUMNS as readonly Column<never>[]],
    ];
    for (const [table, columns] of tables) {
      await t.step(table, async () => {
        const schema = await store.query(
          `select column_name, data_type from information_schema.columns
           where table_schema = 'main' and table_name = $1 order by ordinal_position`,
          [table],
        );
        assert.deepStrictEqual(
          columns.map(([name, type]) => `${name} ${type}`),
          schema.map((c) => `${c.column_name} ${c.data_type}`),
        );
      });
    }
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
