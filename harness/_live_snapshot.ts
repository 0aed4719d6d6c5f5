/**
 * The live snapshot of a run being recorded: `<db>.live`, a small DuckDB file the recorder's
 * thread rewrites every few seconds, so a run can be reported and shown while it records.
 *
 * DuckDB lets one process write a file and nobody else open it, not even read-only: `report`,
 * `dashboard` and other clients failed with a raw lock error for the whole run. The snapshot
 * holds the run's own rows (its `requests`, `token_events`, `engine_steps` and `engine_tokens`)
 * and every other table whole (`runs`, `sweeps`, `run_groups`, `calibrations`, ...), written into a temporary file and renamed over `<db>.live`, so a reader
 * always opens a whole one. Readers find it through `Store.openReader`. The recorder removes it
 * when the run ends; one left by a crash is ignored (the database itself is then unlocked).
 *
 * Cost: each refresh copies the run's rows (measured: 0.13 s for 100 k token events, 0.3 s for
 * 1 M, 2.4 s for 10 M; docs/perf.md). It runs on a connection of its own, beside the recorder's
 * commits (which it never delays: the crash loss window stays that of the flush interval), in one
 * transaction (the snapshot is of one moment); a refresh starts at most every `intervalMs` and,
 * on long runs, no sooner than ten times its own duration after the last, so it takes at most
 * ~10% of one core.
 *
 * @module
 */
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { OWNED_TABLES } from "./schema.ts";

/** The live snapshot file of database `db`. */
export function liveSnapshotPath(db: string): string {
  return `${db}.live`;
}

/**
 * Tables copied for the live run only, and the rest of the schema copied whole (small: runs,
 * sweeps, groups, calibrations, ...; every table a migration adds, so views never miss one).
 */
const PER_RUN = ["requests", "token_events", "engine_steps", "engine_tokens"];
const WHOLE = [...OWNED_TABLES].filter((t) => !PER_RUN.includes(t));

/** Publishes `<db>.live` for one run; see the module documentation. */
export class LiveSnapshot {
  private due = 0;
  private readonly path: string;
  private readonly tmp: string;
  /** The refresh in progress, if any. */
  private writing: Promise<void> | undefined;
  /** Why refreshing stopped, once a refresh failed (the run goes on without snapshots). */
  failure: string | undefined;

  private constructor(
    private readonly conn: DuckDBConnection,
    db: string,
    private readonly runId: string,
    private readonly intervalMs: number,
  ) {
    this.path = liveSnapshotPath(db);
    this.tmp = `${this.path}.tmp`;
  }

  /** A snapshot of run `runId` of database `db` (open in `instance`), on its own connection. */
  static async open(
    instance: DuckDBInstance,
    db: string,
    runId: string,
    intervalMs: number,
  ): Promise<LiveSnapshot> {
    return new LiveSnapshot(await instance.connect(), db, runId, intervalMs);
  }

  /**
   * Starts a refresh if one is due and none is running (call after each commit); does not wait
   * for it. A failure is kept in {@linkcode failure} and stops later refreshes.
   */
  refreshIfDue(): void {
    if (this.writing || this.failure || performance.now() < this.due) return;
    const t0 = performance.now();
    this.writing = this.write().then(
      () => {
        const took = performance.now() - t0;
        this.due = performance.now() + Math.max(this.intervalMs, 10 * took);
      },
      (e) => {
        this.failure = (e as Error).message;
      },
    ).finally(() => (this.writing = undefined));
  }

  /** Rewrites the snapshot now (waiting for a refresh in progress first). */
  async write(): Promise<void> {
    await this.writing;
    await removeFile(this.tmp);
    await removeFile(`${this.tmp}.wal`);
    const file = this.tmp.replaceAll("'", "''");
    const run = this.runId.replaceAll("'", "''");
    await this.conn.run(`attach '${file}' as tt_live`);
    try {
      // One transaction: every table as of the same moment (no token row without its request).
      await this.conn.run("begin transaction");
      for (const t of WHOLE) {
        await this.conn.run(
          `create table tt_live.${t} as select * from main.${t}`,
        );
      }
      for (const t of PER_RUN) {
        await this.conn.run(
          `create table tt_live.${t} as select * from main.${t} where run_id = '${run}'`,
        );
      }
      await this.conn.run("commit");
    } catch (e) {
      await this.conn.run("rollback").catch(() => {});
      throw e;
    } finally {
      await this.conn.run("detach tt_live");
    }
    await Deno.rename(this.tmp, this.path);
  }

  /**
   * Waits for a refresh in progress, removes the snapshot (the run ended: the database itself
   * is readable again) and closes the connection.
   */
  async remove(): Promise<void> {
    await this.writing;
    await removeFile(this.path);
    await removeFile(this.tmp);
    await removeFile(`${this.tmp}.wal`);
    this.conn.closeSync();
  }
}

async function removeFile(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}
