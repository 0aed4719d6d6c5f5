/**
 * The live snapshot of a run being recorded: `<db>.live`, a small DuckDB file the recorder's
 * thread rewrites every few seconds, so a run can be reported and shown while it records.
 *
 * DuckDB lets one process write a file and nobody else open it, not even read-only: `report`,
 * `dashboard` and other clients failed with a raw lock error for the whole run. The snapshot
 * holds the run's own rows (its `runs` row with every other run's, the `sweeps` and
 * `calibrations` tables, and the run's `requests`, `token_events`, `engine_steps` and
 * `engine_tokens`), written into a temporary file and renamed over `<db>.live`, so a reader
 * always opens a whole one. Readers find it through `Store.openReader`. The recorder removes it
 * when the run ends; one left by a crash is ignored (the database itself is then unlocked).
 *
 * Cost: each refresh copies the run's rows. A refresh is made at most every `intervalMs` and,
 * on long runs, no more often than ten times its own duration, so it takes at most ~10% of the
 * database thread.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** The live snapshot file of database `db`. */
export function liveSnapshotPath(db: string): string {
  return `${db}.live`;
}

/** Tables copied whole (small) and tables copied for the live run only. */
const WHOLE = ["tokentrace_schema", "runs", "sweeps", "calibrations"];
const PER_RUN = ["requests", "token_events", "engine_steps", "engine_tokens"];

/** Publishes `<db>.live` for one run; see the module documentation. */
export class LiveSnapshot {
  private due = 0;
  private readonly path: string;
  private readonly tmp: string;

  constructor(
    private readonly conn: DuckDBConnection,
    db: string,
    private readonly runId: string,
    private readonly intervalMs: number,
  ) {
    this.path = liveSnapshotPath(db);
    this.tmp = `${this.path}.tmp`;
  }

  /** Rewrites the snapshot if one is due (call after each commit). */
  async refreshIfDue(): Promise<void> {
    if (performance.now() < this.due) return;
    const t0 = performance.now();
    await this.write();
    const took = performance.now() - t0;
    this.due = performance.now() + Math.max(this.intervalMs, 10 * took);
  }

  /** Rewrites the snapshot now. */
  async write(): Promise<void> {
    await removeFile(this.tmp);
    await removeFile(`${this.tmp}.wal`);
    const file = this.tmp.replaceAll("'", "''");
    const run = this.runId.replaceAll("'", "''");
    await this.conn.run(`attach '${file}' as tt_live`);
    try {
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
    } finally {
      await this.conn.run("detach tt_live");
    }
    await Deno.rename(this.tmp, this.path);
  }

  /** Removes the snapshot (the run ended: the database itself is readable again). */
  async remove(): Promise<void> {
    await removeFile(this.path);
    await removeFile(this.tmp);
    await removeFile(`${this.tmp}.wal`);
  }
}

async function removeFile(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}
