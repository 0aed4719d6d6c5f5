/**
 * The shared results store: a folder of Parquet files, hive-partitioned by run, that many hosts
 * and CI jobs append runs to (`tokentrace export`), and that `report`, `compare` and
 * `dashboard` read as they read a result database (`--db <folder>`).
 *
 * Layout (the folder's `tokentrace-store.json` says it is one):
 *
 * ```
 * <store>/tokentrace-store.json
 * <store>/runs/run_id=<id>/data.parquet            one file per table per run
 * <store>/requests/run_id=<id>/data.parquet
 * <store>/token_events/run_id=<id>/data.parquet
 * <store>/engine_steps/run_id=<id>/...  engine_tokens/  run_shards/
 * <store>/run_groups/group_id=<id>/...  sweeps/sweep_id=<id>/...  calibrations/calibration_id=<id>/...
 * ```
 *
 * The partition column is in the folder name, not in the file (hive style: DuckDB, Spark, Trino
 * and others read it back as a column). A run is visible once its `runs` file exists: rows of
 * other tables whose run has no `runs` row yet (an export in progress) are left out.
 *
 * This is not `report --format parquet`, which writes one run's token chunks as one file for a
 * notebook; the store holds whole databases' tables, append-only.
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { join } from "node:path";
import { MIGRATIONS } from "./schema.ts";
import { Store } from "./store.ts";

/** The file that marks a folder as a results store. */
export const STORE_MARKER = "tokentrace-store.json";
/** The format the marker names; a reader refuses any other. */
export const STORE_FORMAT = "tokentrace.store/v1";

/** The partition key of each table of the store; every other table is partitioned by run_id. */
export const PARTITION_KEYS: Readonly<Record<string, string>> = {
  run_groups: "group_id",
  sweeps: "sweep_id",
  calibrations: "calibration_id",
};

/** Tables of the result database that are not in the store. */
const NOT_STORED = new Set(["tokentrace_schema"]);

/** A table of the store: its columns at this build's schema version. */
export interface StoreTable {
  name: string;
  /** The partition column (hive folder `<key>=<value>`). */
  key: string;
  columns: { name: string; type: string }[];
}

/**
 * The tables of the store at this build's schema version, with their columns and types, read
 * from a fresh in-memory database migrated to it.
 *
 * @example
 * ```ts
 * import { storeTables } from "./parquet_store.ts";
 * const tables = await storeTables();
 * console.log(tables.find((t) => t.name === "token_events")?.key); // run_id
 * ```
 */
export async function storeTables(): Promise<StoreTable[]> {
  const template = await Store.open(":memory:");
  try {
    const rows = await template.query(
      `select c.table_name, c.column_name, c.data_type
       from information_schema.columns as c
       join information_schema.tables as t
         on t.table_name = c.table_name and t.table_schema = c.table_schema
       where c.table_schema = 'main' and t.table_type = 'BASE TABLE'
       order by c.table_name, c.ordinal_position`,
    );
    const tables = new Map<string, StoreTable>();
    for (const r of rows) {
      const name = r.table_name as string;
      if (NOT_STORED.has(name)) continue;
      let t = tables.get(name);
      if (!t) {
        t = { name, key: PARTITION_KEYS[name] ?? "run_id", columns: [] };
        tables.set(name, t);
      }
      t.columns.push({
        name: r.column_name as string,
        type: r.data_type as string,
      });
    }
    for (const t of tables.values()) {
      if (!t.columns.some((c) => c.name === t.key)) {
        throw new Error(
          `Table ${t.name} has no column ${t.key} to partition the store by: ` +
            "add its partition key to PARTITION_KEYS in harness/parquet_store.ts",
        );
      }
    }
    // runs first: the other tables' views read it
    return [...tables.values()].sort((a, b) =>
      Number(b.name === "runs") - Number(a.name === "runs")
    );
  } finally {
    template.close();
  }
}

/**
 * The glob of a table's files in the store at `dir`.
 *
 * @example
 * ```ts
 * import { tableGlob } from "./parquet_store.ts";
 * const glob = tableGlob("/mnt/store", { name: "requests", key: "run_id" });
 * console.log(glob.startsWith("/mnt/store/requests/run_id="), glob.endsWith(".parquet")); // true true
 * ```
 */
export function tableGlob(
  dir: string,
  t: Pick<StoreTable, "name" | "key">,
): string {
  return join(dir, t.name, `${t.key}=*`, "*.parquet");
}

/**
 * Reads the marker of the store at `dir`; throws a message saying how to make one if absent.
 *
 * @example
 * ```ts ignore
 * await readStoreMarker("results-store");
 * ```
 */
export async function readStoreMarker(
  dir: string,
): Promise<{ format: string }> {
  const path = join(dir, STORE_MARKER);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(
      `Folder "${dir}" is not a tokentrace results store (no ${STORE_MARKER}): ` +
        `write one with tokentrace export --db results.duckdb --to ${dir}, or pass a .duckdb file`,
    );
  }
  let marker: { format?: unknown };
  try {
    marker = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Store marker "${path}" is not JSON: ${(e as Error).message}`,
    );
  }
  if (marker.format !== STORE_FORMAT) {
    throw new Error(
      `Store marker "${path}": expected format "${STORE_FORMAT}", got ${
        JSON.stringify(marker.format)
      } (written by another tokentrace version?)`,
    );
  }
  return { format: marker.format };
}

/**
 * Opens the Parquet store at `dir` as a read-only {@linkcode Store}: an in-memory database whose
 * tables are views over the store's files, typed as this build's schema (columns a file lacks
 * read as NULL; columns this build does not know are left out). The metric views install over
 * it as over a file (`installViews`, `openSnapshot`).
 *
 * @example
 * ```ts
 * import { Store } from "./store.ts";
 * import { exportStore } from "./parquet_export.ts";
 * import { openParquetStore } from "./parquet_store.ts";
 * const dir = await Deno.makeTempDir();
 * const db = await Store.open(`${dir}/r.duckdb`);
 * await db.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * await db.finishRun("r1", "completed");
 * db.close();
 * await exportStore(`${dir}/r.duckdb`, `${dir}/store`);
 * const store = await openParquetStore(`${dir}/store`);
 * console.log(await store.query("select run_id, status from runs")); // [ { run_id: "r1", status: "completed" } ]
 * store.close();
 * ```
 */
export async function openParquetStore(dir: string): Promise<Store> {
  await readStoreMarker(dir);
  const tables = await storeTables();
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const q = async (sql: string) =>
      (await conn.runAndReadAll(sql)).getRowObjects();
    for (const t of tables) {
      const glob = literal(tableGlob(dir, t));
      const files = Number(
        (await q(`select count(*) as n from glob(${glob})`))[0].n,
      );
      let sql: string;
      if (files === 0) {
        sql = `select ${
          t.columns.map((c) => `null::${c.type} as ${ident(c.name)}`).join(", ")
        } limit 0`;
      } else {
        const source = `read_parquet(${glob}, hive_partitioning = true, ` +
          `hive_types = {${literal(t.key)}: VARCHAR}, union_by_name = true)`;
        const present = new Set(
          (await q(`describe select * from ${source}`)).map((r) =>
            r.column_name as string
          ),
        );
        const projection = t.columns.map((c) =>
          present.has(c.name)
            ? `${ident(c.name)}::${c.type} as ${ident(c.name)}`
            : `null::${c.type} as ${ident(c.name)}`
        );
        // A run is in the store once its runs file is: the other tables' rows wait for it.
        const visible = t.key === "run_id" && t.name !== "runs"
          ? " where run_id in (select run_id from runs)"
          : "";
        sql = `select ${projection.join(", ")} from ${source}${visible}`;
      }
      await conn.run(`create view ${ident(t.name)} as ${sql}`);
    }
    await conn.run(
      `create table tokentrace_schema (version integer, description varchar, applied_at timestamptz)`,
    );
    for (const m of MIGRATIONS) {
      await conn.run(
        "insert into tokentrace_schema values ($1, $2, null)",
        [m.version, m.description],
      );
    }
  } catch (e) {
    conn.closeSync();
    instance.closeSync();
    throw new Error(
      `Cannot read the results store "${dir}": ${(e as Error).message}`,
    );
  }
  return Store.over(dir, instance, conn);
}

/**
 * Opens what `--db` names for reading: a result database file (its live snapshot while a run
 * writes it: `Store.openReader`), or a results store folder.
 *
 * @example
 * ```ts ignore
 * const store = await openResults(flags.db);
 * ```
 */
export async function openResults(path: string): Promise<Store> {
  let folder = false;
  try {
    folder = (await Deno.stat(path)).isDirectory;
  } catch { /* Store.open says the file does not exist */ }
  return folder ? await openParquetStore(path) : await Store.openReader(path);
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}
