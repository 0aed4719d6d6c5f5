/**
 * Test helper: result databases written at an older schema version, as a tokentrace of that
 * version wrote them (its migrations applied, then the given rows), for the migration tests.
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { MIGRATIONS } from "../../harness/schema.ts";

/** A new result database at schema `version` holding `statements`' rows (run after migrating). */
export async function oldSchemaFile(
  version: number,
  statements: string[],
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `tokentrace-v${version}-` });
  const path = `${dir}/results.duckdb`;
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  await c.run(
    `create table tokentrace_schema (
       version integer primary key, description varchar, applied_at timestamptz)`,
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    for (const s of m.statements) await c.run(s);
    await c.run("insert into tokentrace_schema values ($1, $2, now())", [
      m.version,
      m.description,
    ]);
  }
  for (const s of statements) await c.run(s);
  c.closeSync();
  inst.closeSync();
  return path;
}
