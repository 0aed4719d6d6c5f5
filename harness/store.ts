/**
 * The result store: one DuckDB file holding many runs, opened with forward migration.
 *
 * Just over ~400 lines: `Store` is the one owner of a connection (open with its lock and
 * migration rules, run rows, queries, live snapshots, close); the schema (schema.ts), the
 * recorder's writing (recorder.ts) and exports (parquet_export.ts) are apart.
 *
 * @module
 */
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
} from "@duckdb/node-api";
import { MIGRATIONS, OWNED_TABLES, SCHEMA_VERSION } from "./schema.ts";

export { OWNED_TABLES };
import { liveSnapshotPath } from "./_live_snapshot.ts";

/** Options for {@linkcode Store.open}. */
export interface StoreOpenOptions {
  /** Open without writing: no migration, no new runs. Default `false`. */
  readOnly?: boolean;
  /**
   * Write into a file that also holds tables tokentrace does not own (another program's
   * database, or tables a user added). Default `false`: such a file is refused before anything
   * is written to it (CLI: `--allow-foreign-db`).
   */
  allowForeignTables?: boolean;
  /**
   * While another process holds the file's lock, retry for up to this long, in ms (a report or
   * dashboard holds a read lock only for a moment). Default 0: fail at once.
   */
  waitForLockMs?: number;
}

/** Where a store opened by {@linkcode Store.openReader} reads from, when not the file itself. */
export interface LiveSource {
  /** The live snapshot file read instead of the database. */
  file: string;
  /** When the recorder wrote it. */
  takenAt: Date;
}

/** Whether a DuckDB open failed because another process holds the file. */
export function isLockConflict(e: unknown): boolean {
  return /Could not set lock on file|Conflicting lock is held/i.test(
    (e as Error)?.message ?? "",
  );
}

/** A run's final state. `running` means the run has not ended (or its process died). */
export type RunStatus = "running" | "completed" | "aborted" | "failed";

/** What is known about a run when it starts. */
export interface NewRun {
  /** The run id (a UUID unless given). */
  runId: string;
  /** A name to find the run by (`report --run <label>`). */
  label?: string;
  /** Backend kind (`Backend.name`). */
  backend: string;
  /** What the backend said about itself (`Backend.describe()`), as JSON. */
  backendInfo?: unknown;
  /** What the workload was (source, checksum, transforms), as JSON. */
  workload?: unknown;
  /** The run's options record, as JSON. */
  options?: unknown;
  /** The tokentrace version that made the run. */
  toolVersion: string;
  /** The git revision of the tokentrace checkout, when known. */
  gitRev?: string;
  /** Facts about the host (OS, CPUs, memory), as JSON. */
  host?: unknown;
  /** Wall clock at run-clock t = 0, in nanoseconds since the Unix epoch. */
  clockOriginUnixNs: bigint;
  /** The sweep this run is a point of (`tokentrace sweep`), its axis and requested value. */
  sweep?: {
    sweepId: string;
    axis: "speedup" | "rate" | "concurrency";
    value: number;
  };
  /** The suite label and scenario name of a scheduled regression run (`run --suite`). */
  suite?: { suite: string; scenario: string };
  /** Measurement window trims in nanoseconds (see reports/sql/run_window.sql). Default 0. */
  warmupNs?: bigint;
  /** Cool-down trimmed before the last completion, in ns. Default 0. */
  cooldownNs?: bigint;
  /** The group of repeated runs this run is one of (`run --repeat`), and its 0-based index. */
  group?: { groupId: string; index: number };
  /** The SLO the run is judged by (`runs.slo_*_ms`); absent: none recorded. */
  slo?: RunSlo;
  /** The failure policy it is judged by, by its SQL name (`runs.slo_failure_policy`). */
  failurePolicy?: string;
  /** How load was offered (`runs.load_mode`): at planned times, or by users back to back. */
  loadMode?: "open" | "closed";
}

/** Latency bounds in ms, inclusive; an absent bound does not judge. */
export interface RunSlo {
  /** Time to first token. */
  ttftMs?: number;
  /** Time per output token. */
  tpotMs?: number;
  /** End to end. */
  e2eMs?: number;
  /** Largest gap between chunks (a stall bound). */
  itlMs?: number;
}

/** A row as plain JSON values (bigints as strings? no: numbers where they fit, else bigint). */
export type Row = Record<string, SqlValue>;

/** A value DuckDB returns in a row or takes as a query parameter (DuckDB's `DuckDBValue`). */
export type SqlValue = DuckDBValue;

/** The DuckDB instance a store holds (DuckDB's `DuckDBInstance`). */
export type StoreInstance = DuckDBInstance;

/** The DuckDB connection a store runs its statements on (DuckDB's `DuckDBConnection`). */
export type StoreConnection = DuckDBConnection;

/**
 * A result database, migrated to {@linkcode SCHEMA_VERSION} on open.
 *
 * @example
 * ```ts
 * import { Store } from "./store.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * console.log(await store.schemaVersion());
 * store.close();
 * ```
 */
export class Store {
  private constructor(
    /** The database file (or `:memory:`). */
    readonly path: string,
    /** The DuckDB instance (the recorder's live snapshots open beside it). */
    readonly instance: StoreInstance,
    /** The connection every statement runs on (the recorder's appenders too). */
    readonly conn: StoreConnection,
    /** Opened read-only (no migration, no writes). */
    readonly readOnly: boolean,
    /** Set when this store is a running run's live snapshot (see {@linkcode Store.openReader}). */
    readonly live?: LiveSource,
  ) {}

  /**
   * Opens `path` for reading. While a run records into it (DuckDB then lets nobody else open
   * it), opens the run's live snapshot `<path>.live` instead (see harness/_live_snapshot.ts):
   * {@linkcode Store.live} says so. Holds no lock a run would wait on longer than its use.
   */
  static async openReader(path: string): Promise<Store> {
    try {
      return await Store.open(path, { readOnly: true });
    } catch (e) {
      if (!isLockConflict(e)) throw e;
      const file = liveSnapshotPath(path);
      let takenAt: Date;
      try {
        takenAt = (await Deno.stat(file)).mtime ?? new Date();
      } catch {
        throw new Error(
          `Result database "${path}" is being written by another process and has no live ` +
            `snapshot (${file}; runs record one unless started by an older tokentrace): ` +
            `wait for it to finish, or report from a copy`,
        );
      }
      const snap = await Store.open(file, { readOnly: true });
      return new Store(path, snap.instance, snap.conn, true, { file, takenAt });
    }
  }

  /** Opens (creating if needed) the database at `path` and migrates it forward. */
  static async open(path: string, opts: StoreOpenOptions = {}): Promise<Store> {
    const readOnly = opts.readOnly ?? false;
    if (readOnly) {
      try {
        await Deno.stat(path);
      } catch {
        throw new Error(
          `Result database "${path}" does not exist: pass --db with the file a run wrote`,
        );
      }
    }
    let instance: DuckDBInstance;
    const until = performance.now() + (opts.waitForLockMs ?? 0);
    for (;;) {
      try {
        instance = await DuckDBInstance.create(
          path,
          readOnly ? { access_mode: "READ_ONLY" } : {},
        );
        break;
      } catch (e) {
        if (isLockConflict(e) && performance.now() < until) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new Error(
          `Cannot open result database "${path}": ${(e as Error).message}`,
        );
      }
    }
    const conn = await instance.connect();
    const store = new Store(path, instance, conn, readOnly);
    try {
      if (!readOnly && !opts.allowForeignTables) await store.refuseForeign();
      await store.migrate();
    } catch (e) {
      store.close();
      throw e;
    }
    return store;
  }

  /**
   * A read-only store over a database another module built (the in-memory views over a results
   * store: harness/parquet_store.ts); nothing is migrated.
   */
  static over(
    path: string,
    instance: DuckDBInstance,
    conn: DuckDBConnection,
  ): Store {
    return new Store(path, instance, conn, true);
  }

  /** The schema version stored in the file (0 for a file tokentrace never wrote). */
  async schemaVersion(): Promise<number> {
    const t = await this.query(
      `select count(*)::int as n from information_schema.tables
       where table_name = 'tokentrace_schema' and table_schema = 'main'`,
    );
    if (t[0].n === 0) return 0;
    const v = await this.query(
      "select coalesce(max(version), 0)::int as v from tokentrace_schema",
    );
    return v[0].v as number;
  }

  /** Throws, naming them, when the file holds tables tokentrace does not own. */
  private async refuseForeign(): Promise<void> {
    const rows = await this.query(
      `select table_name as t from information_schema.tables
       where table_schema = 'main' and table_type = 'BASE TABLE' order by table_name`,
    );
    const foreign = rows.map((r) => String(r.t)).filter((t) =>
      !OWNED_TABLES.has(t.toLowerCase())
    );
    if (foreign.length === 0) return;
    const shown = foreign.slice(0, 5).map((t) => `"${t}"`).join(", ") +
      (foreign.length > 5 ? ` and ${foreign.length - 5} more` : "");
    throw new Error(
      `Result database "${this.path}" holds ${foreign.length} table(s) tokentrace does not own ` +
        `(${shown}): it is not a tokentrace results file, or tables were added to it. Nothing was ` +
        `written. Pass --db with another file, or (tokentrace run) --allow-foreign-db to write into this one anyway`,
    );
  }

  /** Applies the pending migrations in one transaction (all or nothing). */
  private async migrate(): Promise<void> {
    const current = await this.schemaVersion();
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `Result database "${this.path}" has schema version ${current}, newer than this ` +
          `tokentrace's ${SCHEMA_VERSION}: upgrade tokentrace to read it`,
      );
    }
    if (current === SCHEMA_VERSION) return;
    if (this.readOnly) {
      throw new Error(
        `Result database "${this.path}" has schema version ${current}, older than ${SCHEMA_VERSION}: ` +
          `open it once without read-only access to migrate it`,
      );
    }
    // All or nothing: the version table and every pending migration in one transaction, so a
    // failure (or a crash) leaves the file exactly as it was, at its old version.
    let at = current;
    await this.conn.run("begin transaction");
    try {
      if (current === 0) {
        await this.conn.run(
          `create table if not exists tokentrace_schema (
             version integer primary key, description varchar, applied_at timestamptz)`,
        );
      }
      // Applied in version order whatever the order of the list.
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (m.version <= current) continue;
        at = m.version;
        for (const s of m.statements) await this.conn.run(s);
        await this.conn.run(
          "insert into tokentrace_schema values ($1, $2, now())",
          [m.version, m.description],
        );
      }
      await this.conn.run("commit");
    } catch (e) {
      await this.conn.run("rollback");
      throw new Error(
        `Migration of "${this.path}" from schema version ${current} failed at version ${at}, ` +
          `nothing was changed: ${(e as Error).message}`,
      );
    }
  }

  /** Runs a query and returns its rows as objects keyed by column name. */
  async query(
    sql: string,
    params?: SqlValue[] | Record<string, SqlValue>,
  ): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjects();
  }

  /** Runs a statement without reading results. */
  async exec(
    sql: string,
    params?: SqlValue[] | Record<string, SqlValue>,
  ): Promise<void> {
    await this.conn.run(sql, params);
  }

  /** Inserts the `runs` row of a new run with status `running`. */
  async createRun(r: NewRun): Promise<void> {
    await this.conn.run(
      `insert into runs (run_id, label, started_at, status, backend, backend_info, workload,
         options, tool_version, git_rev, host, clock_origin_unix_ns, sweep_id, sweep_axis,
         sweep_value, suite, scenario, warmup_ns, cooldown_ns, group_id, group_index,
         slo_ttft_ms, slo_tpot_ms, slo_e2e_ms, slo_itl_ms, slo_failure_policy, load_mode)
       values ($1, $2, make_timestamptz($3::bigint // 1000), 'running', $4, $5::json, $6::json,
         $7::json, $8, $9, $10::json, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
         $21, $22, $23, $24, $25, $26)`,
      [
        r.runId,
        r.label ?? null,
        r.clockOriginUnixNs,
        r.backend,
        jsonOrNull(r.backendInfo),
        jsonOrNull(r.workload),
        jsonOrNull(r.options),
        r.toolVersion,
        r.gitRev ?? null,
        jsonOrNull(r.host),
        r.clockOriginUnixNs,
        r.sweep?.sweepId ?? null,
        r.sweep?.axis ?? null,
        r.sweep?.value ?? null,
        r.suite?.suite ?? null,
        r.suite?.scenario ?? null,
        r.warmupNs ?? null,
        r.cooldownNs ?? null,
        r.group?.groupId ?? null,
        r.group?.index ?? null,
        r.slo?.ttftMs ?? null,
        r.slo?.tpotMs ?? null,
        r.slo?.e2eMs ?? null,
        r.slo?.itlMs ?? null,
        r.failurePolicy ?? null,
        r.loadMode ?? null,
      ],
    );
  }

  /** Inserts the `run_groups` row of a group of `repeats` runs (`run --repeat`, suites). */
  async createGroup(g: {
    groupId: string;
    label?: string;
    kind: "repeat" | "suite";
    repeats: number;
  }): Promise<void> {
    await this.conn.run(
      `insert into run_groups (group_id, label, created_at, kind, repeats)
       values ($1, $2, now(), $3, $4)`,
      [g.groupId, g.label ?? null, g.kind, g.repeats],
    );
  }

  /** Updates the backend description of a run (known only after the backend answered). */
  async setBackendInfo(runId: string, info: unknown): Promise<void> {
    await this.conn.run(
      "update runs set backend_info = $2::json where run_id = $1",
      [runId, jsonOrNull(info)],
    );
  }

  /** Marks a run ended with `status` and an optional reason. */
  async finishRun(
    runId: string,
    status: Exclude<RunStatus, "running">,
    endReason?: string,
  ): Promise<void> {
    await this.conn.run(
      `update runs set status = $2, finished_at = now(), end_reason = $3 where run_id = $1`,
      [runId, status, endReason ?? null],
    );
  }

  /** Closes the connection and the database (checkpointing the WAL). */
  close(): void {
    try {
      this.conn.closeSync();
    } finally {
      this.instance.closeSync();
    }
  }
}

function jsonOrNull(v: unknown): string | null {
  return v === undefined ? null : JSON.stringify(v, bigintReplacer);
}

function bigintReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
