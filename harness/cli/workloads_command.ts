/**
 * `tokentrace workloads list|inspect|fetch`: the public trace catalog, downloads and trace
 * statistics.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  BAD_ROW_POLICIES,
  CATALOG,
  catalogEntry,
  fetchWorkload,
  readTrace,
  renderStatsText,
  resolveWorkload,
  TIME_UNITS,
  traceStats,
  traceSvg,
  workloadCacheDir,
} from "../../workloads/mod.ts";
import { FlagError, integerAtLeast, oneOf } from "./flags.ts";
import { parseColumns } from "./workload_flags.ts";

/** Adds the `workloads` command group to `program`; `exit` receives the exit code. */
export function addWorkloadsCommands(
  program: Command,
  exit: (code: number) => void,
): void {
  const group = program.command("workloads")
    .description("public trace catalog, downloads and trace statistics");

  group.command("list")
    .description(
      "the named public traces: source, license, size, and whether they are cached",
    )
    .option(
      "--cache-dir <dir>",
      "download cache (default: $TOKENTRACE_CACHE_DIR or ~/.cache/tokentrace/workloads)",
    )
    .option("--json", "print as JSON")
    .action(async (o) => {
      const dir = o.cacheDir ?? workloadCacheDir();
      const rows = [];
      for (const e of CATALOG) {
        let cached = false;
        try {
          cached = (await Deno.stat(`${dir}/${e.file}`)).isFile;
        } catch { /* not cached */ }
        rows.push({ ...e, cached });
      }
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else {
        for (const r of rows) {
          console.log(
            `${r.name.padEnd(26)} ${r.cached ? "cached " : "       "} ${
              r.format.padEnd(10)
            } ${r.title}`,
          );
          console.log(`${"".padEnd(35)}${r.url}`);
          console.log(
            `${"".padEnd(35)}license ${r.license}; cite ${r.attribution}${
              r.bytes ? `; ${r.bytes} bytes` : ""
            }${r.sha256 ? `; sha256 ${r.sha256.slice(0, 16)}...` : ""}`,
          );
        }
        console.log(`\nCache: ${dir}`);
      }
      exit(0);
    });

  group.command("fetch")
    .description(
      "download a named trace into the cache (resumes, verifies size and checksum)",
    )
    .argument("<name>", "catalog name (see workloads list)")
    .option(
      "--cache-dir <dir>",
      "download cache (default: $TOKENTRACE_CACHE_DIR or ~/.cache/tokentrace/workloads)",
    )
    .option(
      "--url <url>",
      "download from this mirror instead of the official URL",
    )
    .action(async (name, o) => {
      const entry = catalogEntry(name);
      if (!entry) {
        throw new FlagError(
          "<name>",
          name,
          `a catalog name: ${CATALOG.map((e) => e.name).join(", ")}`,
        );
      }
      const r = await fetchWorkload(entry, {
        cacheDir: o.cacheDir ?? workloadCacheDir(),
        url: o.url,
      });
      console.log(
        `${r.action} ${entry.name}: ${r.path} (${r.bytes} bytes, sha256 ${r.sha256}${
          r.verified.sha256 ? ", verified" : ", no known checksum to verify"
        })`,
      );
      console.log(`License ${entry.license}. Cite: ${entry.attribution}`);
      exit(0);
    });

  group.command("inspect")
    .description(
      "statistics of a trace: rate, inter-arrival CV, peaks, length percentiles, prefix hits",
    )
    .argument("<trace>", "trace path or catalog name")
    .option("--format <name>", "trace format (default: detected)")
    .option("--trace-dir <dir>", "folder that holds trace files")
    .option("--cache-dir <dir>", "download cache")
    .option(
      "--columns <map>",
      "generic format: time=<col>,input=<col>,output=<col>",
    )
    .option("--time-unit <unit>", "generic format: s | ms | us | ns | datetime")
    .option("--block-size <n>", "tokens per hash block", "512")
    .option("--on-bad-row <policy>", "error | skip", "error")
    .option("--json", "print the statistics as JSON")
    .option(
      "--svg <file>",
      "also write an SVG: requests per second, input and output length histograms",
    )
    .action(async (trace, o) => {
      const resolved = await resolveWorkload(trace, {
        traceDir: o.traceDir,
        cacheDir: o.cacheDir ?? workloadCacheDir(),
      });
      const blockSize = integerAtLeast("--block-size", o.blockSize, 1);
      const w = await readTrace(resolved.path, {
        format: o.format ?? resolved.entry?.format,
        sortByTime: true,
        sourceFailures: "keep",
        blockSize,
        onBadRow: oneOf("--on-bad-row", o.onBadRow, BAD_ROW_POLICIES),
        columns: o.columns ? parseColumns(o.columns) : undefined,
        timeUnit: o.timeUnit
          ? oneOf("--time-unit", o.timeUnit, TIME_UNITS)
          : undefined,
      });
      const stats = traceStats(w, { blockSize });
      if (o.svg) {
        await Deno.writeTextFile(o.svg, traceSvg(w.requests, resolved.path));
      }
      console.log(
        o.json
          ? JSON.stringify({ ...stats, skipped: w.skipped }, null, 1)
          : renderStatsText(stats),
      );
      exit(0);
    });
}
