/**
 * `tokentrace report`: the report of a recorded run, from the SQL views, as a terminal table,
 * Markdown, JSON, JUnit XML (fidelity checks), a single-file HTML page with charts, CSV (one row
 * per request, every metric) or Parquet (one row per token chunk, for big runs; needs --out).
 *
 * @module
 */
import {
  collectRunReport,
  exportRequestsCsv,
  exportTokensParquet,
  openSnapshot,
  parseFailurePolicy,
  parseSlo,
  recordedSlo,
  renderFidelityJunit,
  renderFullJson,
  renderHtml,
  renderMarkdown,
  renderTerminal,
  resolveRun,
  summarizeRun,
  sweepRunIds,
} from "../../reports/mod.ts";
import { openResults } from "../parquet_store.ts";
import { FlagError, oneOf } from "./flags.ts";

/** Raw `report` flags. */
export interface ReportFlags {
  db: string;
  run?: string;
  slo?: string;
  failurePolicy?: string;
  format: string;
  out?: string;
}

/** The report formats. */
export const REPORT_FORMATS = [
  "table",
  "md",
  "json",
  "junit",
  "html",
  "csv",
  "parquet",
] as const;

/**
 * Renders the report of one run (the latest when `--run` is absent) to stdout or `--out`.
 *
 * The SLO is `--slo`, else the one the run's sweep or run command recorded, else none.
 */
export async function reportCommand(f: ReportFlags): Promise<void> {
  const format = oneOf("--format", f.format, REPORT_FORMATS);
  const failurePolicy = f.failurePolicy === undefined
    ? undefined
    : parseFailurePolicy(f.failurePolicy);
  if (format === "parquet" && f.out === undefined) {
    throw new FlagError(
      "--out",
      "",
      "a file to write with --format parquet (binary: not for the terminal), e.g. --out tokens.parquet",
    );
  }
  // A run recording into the file: its live snapshot (the report says the run is running).
  const store = await openResults(f.db);
  if (store.live) {
    console.error(
      `Result database "${f.db}" is being written by a run: reporting from its live snapshot ` +
        `${store.live.file} (written ${store.live.takenAt.toISOString()}); the run has not ended`,
    );
  }
  let text: string;
  try {
    const run = await resolveRun(store, f.run);
    const slo = f.slo ? parseSlo(f.slo) : await recordedSlo(store, run.runId);
    const runIds = await sweepRunIds(store, run.runId);
    const snapshot = await openSnapshot(store, { runIds });
    try {
      if (format === "parquet") {
        const n = await exportTokensParquet(snapshot, run.runId, f.out!);
        console.error(
          `Wrote ${n} token chunks of run ${run.runId} to ${f.out}`,
        );
        return;
      }
      if (format === "csv") {
        const tmp = await Deno.makeTempFile({ suffix: ".csv" });
        try {
          await exportRequestsCsv(snapshot, run.runId, tmp, {
            slo,
            failurePolicy,
          });
          text = await Deno.readTextFile(tmp);
        } finally {
          await Deno.remove(tmp).catch(() => {});
        }
      } else if (format === "table") {
        text = renderTerminal(
          await summarizeRun(snapshot, run.runId, slo, { failurePolicy }),
        );
      } else {
        const report = await collectRunReport(snapshot, run.runId, {
          slo,
          failurePolicy,
        });
        text = format === "md"
          ? renderMarkdown(report)
          : format === "json"
          ? renderFullJson(report)
          : format === "junit"
          ? renderFidelityJunit(report)
          : await renderHtml(report);
      }
    } finally {
      snapshot.close();
    }
  } finally {
    store.close();
  }
  if (f.out === undefined) {
    console.log(text.endsWith("\n") ? text.slice(0, -1) : text);
  } else {
    await Deno.writeTextFile(f.out, text);
    console.error(`Wrote ${format} report to ${f.out}`);
  }
}
