/**
 * A private in-memory DuckDB connection for the trace readers.
 *
 * Workloads import no other tokentrace folder, so they hold their own connection instead of
 * the result store's.
 *
 * @module
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** Runs `fn` with a fresh in-memory DuckDB connection and closes it afterwards. */
export async function withDuckDB<T>(
  fn: (conn: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Quotes a string as a SQL literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
