/**
 * `tokentrace export --db results.duckdb --to <folder>`: appends the database's finished runs to
 * a results store, hive-partitioned Parquet that many hosts and CI jobs write into and that
 * `report`, `compare` and `dashboard` read with `--db <folder>` (harness/parquet_store.ts).
 * Not `report --format parquet`, which writes one run's token chunks to one file.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { resolveRun } from "../../reports/mod.ts";
import { type ExportResult, exportStore } from "../parquet_export.ts";
import { Store } from "../store.ts";

/** Raw `export` flags. */
export interface ExportFlags {
  db: string;
  to: string;
  /** One run (id, id prefix or label) instead of every run. */
  run?: string;
  quiet?: boolean;
}

/**
 * Exports and prints what was written and what was skipped (stderr).
 *
 * @example
 * ```ts ignore
 * await exportCommand({ db: "results.duckdb", to: "/mnt/results-store" });
 * ```
 */
export async function exportCommand(f: ExportFlags): Promise<ExportResult> {
  let runIds: string[] | undefined;
  if (f.run !== undefined) {
    const store = await Store.open(f.db, { readOnly: true });
    try {
      runIds = [(await resolveRun(store, f.run)).runId];
    } finally {
      store.close();
    }
  }
  const result = await exportStore(f.db, f.to, { runIds });
  if (!f.quiet) {
    const totals: Record<string, number> = {};
    for (const r of result.exported) {
      for (const [t, n] of Object.entries(r.rows)) {
        totals[t] = (totals[t] ?? 0) + n;
      }
    }
    for (const [t, n] of Object.entries(result.otherRows)) {
      if (n > 0) totals[t] = (totals[t] ?? 0) + n;
    }
    const rows = Object.entries(totals).map(([t, n]) =>
      `${t} ${n.toLocaleString("en-US")}`
    ).join(", ");
    console.error(
      `Exported ${result.exported.length} run${
        result.exported.length === 1 ? "" : "s"
      } of ${f.db} to the results store ${f.to}${
        rows ? ` (rows: ${rows})` : ""
      }`,
    );
    for (const s of result.skipped) {
      console.error(`  skipped run ${s.runId}: ${s.why}`);
    }
  }
  return result;
}

/** Registers `tokentrace export` on `program`. */
export function addExportCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  program.command("export")
    .description(
      "append a database's finished runs to a results store: hive-partitioned Parquet many hosts write into (report, compare, dashboard read it with --db <folder>)",
    )
    .option("--db <path>", "result database to export", "results.duckdb")
    .requiredOption(
      "--to <folder>",
      "the results store (created when absent; a shared volume or mounted bucket)",
    )
    .option("--run <id|label>", "only this run (default: every finished run)")
    .option("--quiet", "print nothing")
    .action(async (opts) => {
      await exportCommand(opts);
      exit(0);
    });
}
