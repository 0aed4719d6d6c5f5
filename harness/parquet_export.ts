/**
 * `tokentrace export`: appends the finished runs of a result database to a results store (a
 * folder of hive-partitioned Parquet files, layout in harness/parquet_store.ts).
 *
 * Append-only and safe to repeat: a run is written once, as one file per table, and a run whose
 * `runs` file is already in the store is skipped. Files are written into a staging folder inside
 * the store and renamed into place (atomic on one file system), the run's other tables first and
 * its `runs` file last, so a reader sees a run whole or not at all. File names are fixed per run
 * and table, so an export cut short and run again replaces its own files instead of adding
 * duplicate rows. Many hosts may export into one folder at once, each its own runs (a shared
 * volume, or a mounted bucket).
 *
 * @module
 */
import { join } from "node:path";
import {
  readStoreMarker,
  STORE_FORMAT,
  STORE_MARKER,
  type StoreTable,
  storeTables,
} from "./parquet_store.ts";
import { Store } from "./store.ts";

/** Options of {@linkcode exportStore}. */
export interface ExportOptions {
  /** Only these runs (ids). Default: every run of the database. */
  runIds?: readonly string[];
}

/** What {@linkcode exportStore} did. */
export interface ExportResult {
  /** Runs written, with their rows per table. */
  exported: { runId: string; rows: Record<string, number> }[];
  /** Runs left out, and why. */
  skipped: { runId: string; why: string }[];
  /** Rows written of the tables keyed by something else (sweeps, groups, calibrations). */
  otherRows: Record<string, number>;
}

/** Partition values must name a folder on every file system. */
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Appends the finished runs of the database at `dbPath` (and their sweeps and groups, and its
 * calibrations) to the store at `dir`, creating it when absent.
 *
 * @example
 * ```ts
 * import { Store } from "./store.ts";
 * import { exportStore } from "./parquet_export.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await Store.open(`${dir}/r.duckdb`);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * await store.finishRun("r1", "completed");
 * store.close();
 * const first = await exportStore(`${dir}/r.duckdb`, `${dir}/store`);
 * const again = await exportStore(`${dir}/r.duckdb`, `${dir}/store`);
 * console.log(first.exported.map((r) => r.runId), again.skipped); // [ "r1" ] [ { runId: "r1", why: "already in the store" } ]
 * ```
 */
export async function exportStore(
  dbPath: string,
  dir: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const tables = await storeTables();
  await ensureStore(dir);
  const store = await Store.open(dbPath, { readOnly: true });
  const staging = join(dir, `.staging-${crypto.randomUUID()}`);
  const result: ExportResult = { exported: [], skipped: [], otherRows: {} };
  try {
    const runs = await store.query(
      "select run_id, status from runs order by started_at, run_id",
    );
    const wanted = options.runIds === undefined
      ? undefined
      : new Set(options.runIds);
    const byRun = tables.filter((t) => t.key === "run_id");
    /** Runs of this database now in the store: exported now or before. */
    const storedIds: string[] = [];
    for (const r of runs) {
      const runId = r.run_id as string;
      if (wanted !== undefined && !wanted.has(runId)) continue;
      if (r.status === "running") {
        result.skipped.push({
          runId,
          why: "still running (export it once it has ended)",
        });
        continue;
      }
      if (!SAFE_KEY.test(runId)) {
        result.skipped.push({
          runId,
          why:
            "its id cannot name a partition folder (letters, digits, . _ - only)",
        });
        continue;
      }
      if (await exists(partFile(dir, "runs", "run_id", runId))) {
        result.skipped.push({ runId, why: "already in the store" });
        storedIds.push(runId);
        continue;
      }
      const rows: Record<string, number> = {};
      // runs last: the run becomes visible when its other tables are in place
      const order = [
        ...byRun.filter((t) => t.name !== "runs"),
        byRun.find((t) => t.name === "runs")!,
      ];
      for (const t of order) {
        const n = await writePartition(store, staging, dir, t, runId);
        if (n > 0) rows[t.name] = n;
      }
      result.exported.push({ runId, rows });
      storedIds.push(runId);
    }
    for (const t of tables.filter((t) => t.key !== "run_id")) {
      result.otherRows[t.name] = await writeOthers(
        store,
        staging,
        dir,
        t,
        storedIds,
      );
    }
  } finally {
    store.close();
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return result;
}

/** Creates the store's folder and marker, or checks an existing marker. */
async function ensureStore(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const marker = join(dir, STORE_MARKER);
  const body = JSON.stringify(
    {
      format: STORE_FORMAT,
      layout:
        "hive: <table>/<key>=<value>/data.parquet; key run_id, or group_id (run_groups), sweep_id (sweeps), calibration_id (calibrations)",
    },
    null,
    2,
  ) + "\n";
  try {
    // createNew: of many hosts creating the store at once, one writes the marker
    await Deno.writeTextFile(marker, body, { createNew: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  await readStoreMarker(dir);
}

/** The file of one partition: `<dir>/<table>/<key>=<value>/data.parquet`. */
function partFile(dir: string, table: string, key: string, value: string) {
  return join(dir, table, `${key}=${value}`, "data.parquet");
}

/**
 * Writes one partition of `t` (rows whose key is `value`) into staging, then renames it into
 * the store; returns the rows written (0: no file).
 */
async function writePartition(
  store: Store,
  staging: string,
  dir: string,
  t: StoreTable,
  value: string,
): Promise<number> {
  const n = Number(
    (await store.query(
      `select count(*) as n from ${t.name} where ${t.key} = $1`,
      [value],
    ))[0].n,
  );
  if (n === 0) return 0;
  const staged = partFile(staging, t.name, t.key, value);
  await Deno.mkdir(join(staging, t.name, `${t.key}=${value}`), {
    recursive: true,
  });
  // COPY takes no parameters: the value was checked against SAFE_KEY.
  await store.exec(
    `copy (select * exclude (${t.key}) from ${t.name} where ${t.key} = '${value}'
       order by all) to '${staged.replaceAll("'", "''")}'
     (format parquet, compression zstd)`,
  );
  const target = partFile(dir, t.name, t.key, value);
  await Deno.mkdir(join(dir, t.name, `${t.key}=${value}`), { recursive: true });
  await Deno.rename(staged, target);
  return n;
}

/**
 * Writes the sweeps and groups of the runs in the store and every calibration not yet in it. A sweep or group is written once all its runs have ended (its row may still change
 * before: finished_at, stop_reason), and is then never rewritten.
 */
async function writeOthers(
  store: Store,
  staging: string,
  dir: string,
  t: StoreTable,
  runIds: readonly string[],
): Promise<number> {
  let values: string[];
  if (t.name === "calibrations") {
    values = (await store.query("select calibration_id as v from calibrations"))
      .map((r) => r.v as string);
  } else {
    const column = t.key;
    values = (await store.query(
      `select distinct ${column} as v from runs as r
       where ${column} is not null and list_contains(string_split($1, ','), r.run_id)
         and not exists (select 1 from runs as o
                         where o.${column} = r.${column} and o.status = 'running')`,
      // ids bound as one text (no native list parameter); they hold no commas (SAFE_KEY)
      [runIds.join(",")],
    )).map((r) => r.v as string);
  }
  let rows = 0;
  for (const v of values) {
    if (!SAFE_KEY.test(v)) continue;
    if (await exists(partFile(dir, t.name, t.key, v))) continue;
    rows += await writePartition(store, staging, dir, t, v);
  }
  return rows;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
