/**
 * A report snapshot: the metric views of `reports/sql/` evaluated once over chosen runs.
 *
 * DuckDB recomputes a view each time a query names it, and the per-request and per-gap views
 * read every token event; a report asks a dozen questions, so over 10 million events it would
 * scan them a dozen times. A snapshot opens a second connection to the same database, shadows
 * the tables `runs`, `requests`, `token_events` and `sweeps` with TEMP views restricted to the
 * chosen runs, and creates the heavy views (those every other view reads) as TEMP tables, the
 * rest as TEMP views and macros. Definitions still come only from `reports/sql/`: a snapshot
 * changes when they are evaluated, not what they say. TEMP objects live in memory and belong to
 * the snapshot's connection, so it works on a read-only store and leaves the file untouched.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Row, SqlValue, Store } from "../../harness/store.ts";
import { viewStatements } from "../sql/views.ts";

/** What report code reads from: a store or a snapshot of it. */
export interface ReportSource {
  /** The database file, for messages. */
  readonly path: string;
  /** Runs a query and returns its rows as objects keyed by column name. */
  query(
    sql: string,
    params?: SqlValue[] | Record<string, SqlValue>,
  ): Promise<Row[]>;
}

/** The tables a snapshot restricts to the chosen runs. */
const BASE_TABLES = ["runs", "requests", "token_events"] as const;

/**
 * Views created as tables by default: each is read by several others, and together they are the
 * only ones that scan token events row by row.
 */
export const MATERIALIZED_VIEWS: ReadonlySet<string> = new Set([
  "request_keys",
  "token_chunks",
  "request_metrics",
  "run_window",
  "request_window",
  "run_latency_summary",
]);

/** Options of {@linkcode openSnapshot}. */
export interface SnapshotOptions {
  /** Runs to include (ids). Default: every run of the file. */
  runIds?: readonly string[];
  /** Views to create as tables. Default {@linkcode MATERIALIZED_VIEWS}. */
  materialized?: ReadonlySet<string>;
}

/** The views over the chosen runs, on a connection of their own; `close()` drops them. */
export class Snapshot implements ReportSource {
  private constructor(
    readonly path: string,
    private readonly conn: DuckDBConnection,
    /** The runs included; `null` = every run. */
    readonly runIds: readonly string[] | null,
  ) {}

  /** Builds a snapshot (see the module documentation). */
  static async open(
    store: Store,
    options: SnapshotOptions = {},
  ): Promise<Snapshot> {
    const conn = await store.instance.connect();
    const snapshot = new Snapshot(store.path, conn, options.runIds ?? null);
    try {
      await snapshot.build(store, options);
    } catch (e) {
      snapshot.close();
      throw e;
    }
    return snapshot;
  }

  /**
   * Creates temp views of the base tables over the chosen runs, then the views (materialized ones
   * as tables); refuses request-key collisions.
   */
  private async build(store: Store, options: SnapshotOptions): Promise<void> {
    const db = (await store.query("select current_database() as db"))[0]
      .db as string;
    // Every report query orders its own rows; not keeping insertion order lets DuckDB build
    // the tables in parallel without re-sorting (measured: docs/perf.md, "Reports").
    await this.conn.run("set preserve_insertion_order = false");
    const qualified = (table: string) =>
      `${quoteIdent(db)}.main.${quoteIdent(table)}`;
    const ids = options.runIds;
    // TEMP views, not copies: the first materialized view reads the file once, filtered here.
    // Run ids are inlined as escaped literals because a view cannot hold a bound parameter.
    const runFilter = ids === undefined
      ? ""
      : ` where run_id in (${
        ids.length === 0 ? "null" : ids.map(quoteLiteral).join(", ")
      })`;
    for (const table of BASE_TABLES) {
      await this.conn.run(
        `create or replace temp view ${table} as select * from ${
          qualified(table)
        }${runFilter}`,
      );
    }
    // A sweep is kept when one of its points is.
    await this.conn.run(
      `create or replace temp view sweeps as select * from ${
        qualified("sweeps")
      }${
        ids === undefined
          ? ""
          : " where sweep_id in (select sweep_id from runs)"
      }`,
    );
    for (
      const s of await viewStatements(
        "materialize",
        options.materialized ?? MATERIALIZED_VIEWS,
      )
    ) {
      try {
        await this.conn.run(s.sql);
      } catch (e) {
        throw new Error(
          `Evaluating the view defined in "${s.file}" over "${this.path}" failed: ${
            (e as Error).message
          }`,
        );
      }
    }
    const collisions = await this.query(
      `select run_id, req_id, request_key from request_keys where n_same_key > 1
       order by request_key, run_id, req_id limit 4`,
    );
    if (collisions.length > 0) {
      const names = collisions.map((c) => `${c.run_id}/${c.req_id}`).join(", ");
      throw new Error(
        `Result database "${this.path}": requests ${names} share request_key ${
          collisions[0].request_key
        } (a 64-bit hash collision); their events cannot be told apart: rename one request`,
      );
    }
  }

  /** Runs a query on the snapshot. */
  async query(
    sql: string,
    params?: SqlValue[] | Record<string, SqlValue>,
  ): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjects();
  }

  /** Closes the snapshot's connection (its TEMP objects go with it). */
  close(): void {
    this.conn.closeSync();
  }
}

/**
 * Opens a {@linkcode Snapshot} of `store` over `options.runIds` (default every run).
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { openSnapshot } from "./snapshot.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * const snapshot = await openSnapshot(store, { runIds: ["r1"] });
 * console.log(await snapshot.query("select run_id, n_total from run_throughput"));
 * snapshot.close();
 * store.close();
 * ```
 */
export function openSnapshot(
  store: Store,
  options: SnapshotOptions = {},
): Promise<Snapshot> {
  return Snapshot.open(store, options);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
