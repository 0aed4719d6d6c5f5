/**
 * `tokentrace report`: the summary of a recorded run, from the SQL views.
 *
 * @module
 */
import {
  installViews,
  parseSlo,
  renderJson,
  renderTerminal,
  resolveRun,
  summarizeRun,
} from "../../reports/mod.ts";
import { Store } from "../store.ts";
import { oneOf } from "./flags.ts";

/** Raw `report` flags. */
export interface ReportFlags {
  db: string;
  run?: string;
  slo?: string;
  format: string;
}

/** Prints the report of one run (the latest when `--run` is absent). */
export async function reportCommand(f: ReportFlags): Promise<void> {
  const format = oneOf("--format", f.format, ["table", "json"] as const);
  const slo = f.slo ? parseSlo(f.slo) : undefined;
  const store = await Store.open(f.db, { readOnly: true });
  try {
    await installViews(store);
    const run = await resolveRun(store, f.run);
    const summary = await summarizeRun(store, run.runId, slo);
    console.log(
      format === "json" ? renderJson(summary) : renderTerminal(summary),
    );
  } finally {
    store.close();
  }
}
