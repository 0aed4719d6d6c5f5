/**
 * The raw rows of chosen runs as CSV for the dashboard's SQL console, and what the browser needs
 * to rebuild them: column types DuckDB-Wasm understands and the view definitions.
 *
 * DuckDB-Wasm loads extensions from a CDN, which the dashboard must not reach, so the console
 * gets CSV (read by the core CSV reader) instead of Parquet, JSON and ENUM columns as VARCHAR
 * and times of day as UTC TIMESTAMP. The exports are written by the server with `COPY ... TO`
 * into its own temporary folder; the database itself is opened read-only.
 *
 * @module
 */
import { join } from "node:path";
import type { Store } from "../../harness/store.ts";
import { viewStatements } from "../sql/views.ts";

/** The tables the console rebuilds, in order. */
export const CONSOLE_TABLES = [
  "runs",
  "requests",
  "token_events",
  "sweeps",
  // read by run_shard_clock, hence run_fidelity
  "run_shards",
] as const;

/** A table of {@linkcode CONSOLE_TABLES}. */
export type ConsoleTable = typeof CONSOLE_TABLES[number];

/** A column as the browser declares it. */
export interface ConsoleColumn {
  name: string;
  /** A DuckDB type name the core CSV reader accepts. */
  type: string;
}

/** What the console needs besides the CSV files. */
export interface ConsoleSchema {
  tables: Record<ConsoleTable, ConsoleColumn[]>;
  /** `create view` / `create macro` statements of `reports/sql/`, in dependency order. */
  views: { name: string; sql: string }[];
}

function browserType(type: string): string {
  // An ENUM (token_events.channel) is exported as its names; its type text holds quotes the
  // console's `read_csv(columns = {...})` literal cannot carry.
  if (type === "JSON" || type.startsWith("ENUM(")) return "VARCHAR";
  if (type === "TIMESTAMP WITH TIME ZONE") return "TIMESTAMP";
  return type;
}

/**
 * Column types of the console tables and the view statements.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { consoleSchema } from "./run_data.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * const schema = await consoleSchema(store);
 * console.log(schema.tables.runs.find((c) => c.name === "options")?.type); // VARCHAR
 * store.close();
 * ```
 */
export async function consoleSchema(store: Store): Promise<ConsoleSchema> {
  const tables = {} as Record<ConsoleTable, ConsoleColumn[]>;
  for (const t of CONSOLE_TABLES) {
    const rows = await store.query(
      `select column_name, data_type from information_schema.columns
       where table_schema = 'main' and table_name = $1 order by ordinal_position`,
      [t],
    );
    tables[t] = rows.map((r) => ({
      name: r.column_name as string,
      type: browserType(r.data_type as string),
    }));
  }
  const views = (await viewStatements("persist")).map((s) => ({
    name: s.name,
    sql: s.sql,
  }));
  return { tables, views };
}

/** Options of {@linkcode exportTableCsv}. */
export interface ExportOptions {
  /** At most this many token events are exported. Default 2,000,000. */
  tokenEventsLimit?: number;
}

/** A written CSV export. */
export interface CsvExport {
  path: string;
  rows: number;
  /** `true` when `token_events` was cut at the limit. */
  truncated: boolean;
}

/**
 * Writes the rows of `table` for the runs `runIds` (which must exist: resolve them first) as a
 * CSV file with a header into `dir`.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { exportTableCsv } from "./run_data.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * const out = await exportTableCsv(store, "runs", ["r1"], await Deno.makeTempDir());
 * console.log(out.rows, (await Deno.readTextFile(out.path)).split("\n")[0].startsWith("run_id"));
 * store.close();
 * ```
 */
export async function exportTableCsv(
  store: Store,
  table: ConsoleTable,
  runIds: readonly string[],
  dir: string,
  options: ExportOptions = {},
): Promise<CsvExport> {
  const schema = await store.query(
    `select column_name, data_type from information_schema.columns
     where table_schema = 'main' and table_name = $1 order by ordinal_position`,
    [table],
  );
  const columns = schema.map((r) => {
    const name = `"${String(r.column_name).replaceAll('"', '""')}"`;
    const type = r.data_type as string;
    if (type === "TIMESTAMP WITH TIME ZONE") {
      return `timezone('UTC', ${name}) as ${name}`;
    }
    if (type === "JSON") return `${name}::varchar as ${name}`;
    return name;
  });
  // Ids are known run ids (resolved by the caller), inlined as escaped literals: COPY takes no
  // parameters.
  const ids = runIds.length === 0
    ? "null"
    : runIds.map((id) => `'${id.replaceAll("'", "''")}'`).join(", ");
  const where = table === "sweeps"
    ? `sweep_id in (select sweep_id from runs where run_id in (${ids}))`
    : `run_id in (${ids})`;
  const limit = options.tokenEventsLimit ?? 2_000_000;
  const count = Number(
    (await store.query(`select count(*) as n from ${table} where ${where}`))[0]
      .n,
  );
  const truncated = table === "token_events" && count > limit;
  const file = join(
    dir,
    `${table}-${crypto.randomUUID()}.csv`,
  );
  const order = table === "token_events" ? " order by run_id, req_id, seq" : "";
  await store.exec(
    `copy (select ${columns.join(", ")} from ${table} where ${where}${order}${
      truncated ? ` limit ${limit}` : ""
    }) to '${file.replaceAll("'", "''")}' (format csv, header true)`,
  );
  return { path: file, rows: truncated ? limit : count, truncated };
}
