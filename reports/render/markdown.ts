/**
 * Renders a {@linkcode RunReport} as GitHub-flavoured Markdown (tables, no charts), e.g. for a CI
 * job summary or a pull-request comment.
 *
 * @module
 */
import type { RunReport } from "../results/run_report.ts";
import { formatSlo } from "../results/slo.ts";
import type { SweepReport } from "../results/sweep.ts";
import { escapeCell } from "./_escape.ts";
import {
  formatCount,
  formatDecimal,
  formatLatencyMs,
  formatPercent,
  MISSING,
} from "./_text.ts";
import { runHeadline } from "./headline.ts";

/**
 * Formats the report as Markdown text with a trailing newline. Missing values show as "—".
 *
 * @example
 * ```ts ignore
 * console.log(renderMarkdown(await collectRunReport(snapshot, runId)));
 * ```
 */
export function renderMarkdown(report: RunReport): string {
  const { summary } = report;
  const { run, window, counts, throughput: tp, slo } = summary;
  const out: string[] = [];
  out.push(`# tokentrace run ${run.label === null ? run.runId : run.label}`);
  out.push("");
  out.push(`**${runHeadline(summary)}**`);
  out.push("");
  if (run.incomplete) {
    out.push(
      `> **Incomplete run**: status ${run.status}; the numbers cover only what was recorded.`,
    );
    out.push("");
  }
  out.push("| | |", "|---|---|");
  const row = (k: string, v: string) => out.push(`| ${k} | ${escapeCell(v)} |`);
  row("run id", run.runId);
  row("backend", run.backend);
  row(
    "status",
    `${run.status} (started ${run.startedAt}, finished ${
      run.finishedAt ?? MISSING
    })`,
  );
  if (run.sweepId !== null) row("sweep", run.sweepId);
  if (run.suite !== null) {
    row("suite / scenario", `${run.suite} / ${run.scenario}`);
  }
  if (run.group !== null) {
    row(
      "repeat",
      `run ${
        run.group.index + 1
      } of ${run.group.repeats} of group ${run.group.groupId}`,
    );
  }
  row(
    "window",
    `${
      window.seconds === null ? MISSING : `${formatDecimal(window.seconds)} s`
    } (${window.policy}, warm-up ${window.warmupS} s, cool-down ${window.cooldownS} s)`,
  );
  row(
    "requests",
    `${formatCount(counts.total)} in window: ${formatCount(counts.ok)} ok, ${
      formatCount(counts.error)
    } error, ${formatCount(counts.timeout)} timeout, ${
      formatCount(counts.cancelled)
    } cancelled; ${formatCount(counts.outsideWindow)} outside`,
  );
  row(
    "throughput",
    `${formatDecimal(tp.requestsPerS)} req/s, ${
      formatDecimal(tp.outputTokensPerS)
    } output tok/s, ${formatDecimal(tp.totalTokensPerS)} total tok/s`,
  );
  if (slo === null) {
    row("goodput", `${MISSING} (no SLO given)`);
  } else {
    row(
      "goodput",
      `${formatDecimal(slo.goodputRps)} req/s; attainment ${
        formatPercent(slo.attainment)
      } (${slo.met} of ${slo.counted}) for ${formatSlo(slo.bounds)}`,
    );
    row("failure policy", slo.failurePolicyText);
  }
  const f = summary.failures;
  if (f.failed > 0) {
    const counts = (rows: typeof f.kinds) =>
      rows.map((r) => `${r.key} ${formatCount(r.n)}`).join(", ");
    row(
      "failures",
      `${formatCount(f.failed)} failed: ${counts(f.kinds)}; ${
        counts(f.httpStatuses)
      }`,
    );
  }
  out.push("");
  if (f.failed > 0) {
    out.push("## Most frequent failure messages", "");
    out.push("| requests | message |", "|---:|---|");
    for (const m of f.messages) {
      out.push(
        `| ${formatCount(m.n)} | ${
          escapeCell(m.key === "" ? "(no message)" : m.key.replace(/\s+/g, " "))
        } |`,
      );
    }
    out.push("");
  }
  out.push(
    `## Latency (ms, 10 s and more in s; completed requests in the window; percentiles: ${summary.percentileMethod})`,
  );
  out.push("");
  out.push(
    "| metric | n | mean | p50 | p90 | p95 | p99 | p99.9 | max |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const l of summary.latency) {
    out.push(
      `| ${l.metric} | ${formatCount(l.n)} | ${
        [l.meanMs, l.p50Ms, l.p90Ms, l.p95Ms, l.p99Ms, l.p999Ms, l.maxMs].map(
          formatLatencyMs,
        ).join(" | ")
      } |`,
    );
  }
  out.push("");
  out.push("## Lengths (tokens)");
  out.push("");
  out.push(
    "| metric | n | mean | p50 | p90 | p99 | min | max |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const l of report.lengths) {
    out.push(
      `| ${l.metric} | ${formatCount(l.n)} | ${
        [l.mean, l.p50, l.p90, l.p99, l.min, l.max].map(formatDecimal).join(
          " | ",
        )
      } |`,
    );
  }
  out.push("");
  out.push("## Anchor variants (other tools' definitions)");
  out.push("");
  out.push(
    "| metric | tool | same as | n | p50 | p90 | p99 |",
    "|---|---|---|---:|---:|---:|---:|",
  );
  for (const a of report.anchors) {
    out.push(
      `| ${a.metric} | ${a.tool} | ${a.sameAs ?? "(differs)"} | ${
        formatCount(a.n)
      } | ${formatDecimal(a.p50Ms)} | ${formatDecimal(a.p90Ms)} | ${
        formatDecimal(a.p99Ms)
      } |`,
    );
  }
  out.push("");
  out.push("## Fidelity");
  out.push("");
  out.push(
    summary.verdict.ok
      ? "No check flagged."
      : `**FLAGGED**: ${summary.verdict.reasons.join("; ")}.`,
  );
  out.push("");
  out.push(
    "| check | value | threshold | n | flagged | what |",
    "|---|---:|---:|---:|---|---|",
  );
  for (const f of report.fidelity) {
    out.push(
      `| ${f.name} | ${formatDecimal(f.value)} ${f.unit} | ${
        formatDecimal(f.threshold)
      } | ${formatCount(f.n)} | ${
        f.flagged === null ? MISSING : f.flagged ? "**yes**" : "no"
      } | ${escapeCell(f.description)} |`,
    );
  }
  if (report.sweep !== null) {
    out.push("");
    out.push(...sweepMarkdown(report.sweep));
  }
  if (summary.notes.length > 0) {
    out.push("");
    out.push("## Notes");
    out.push("");
    for (const n of summary.notes) out.push(`- ${n}`);
  }
  return out.join("\n") + "\n";
}

/**
 * A sweep's curve and capacity as Markdown lines.
 *
 * @example
 * ```ts ignore
 * console.log(sweepMarkdown(await readSweep(store, sweepId)).join("\n"));
 * ```
 */
export function sweepMarkdown(sweep: SweepReport): string[] {
  const c = sweep.capacity;
  const out = [
    `## Sweep ${sweep.label ?? sweep.sweepId}`,
    "",
    `Capacity at ${formatPercent(c.targetAttainment)} attainment: **${
      c.capacityRps === null ? MISSING : `${formatDecimal(c.capacityRps)} req/s`
    }** (${c.bound}); SLO ${
      formatSlo(sweep.slo)
    }; ${sweep.failurePolicyText}.` +
    (sweep.stopReason === null ? "" : ` Stopped: ${sweep.stopReason}.`),
    "",
    `| point | ${sweep.axis} | offered req/s | load req/s | attainment | goodput req/s | throughput req/s | TTFT p50 / p99 ms | TPOT p50 / p99 ms | E2E p50 / p99 ms |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const pair = (a: number | null, b: number | null) =>
    `${formatLatencyMs(a)} / ${formatLatencyMs(b)}`;
  for (const p of sweep.points) {
    out.push(
      `| ${p.pointOrder} | ${p.value} | ${formatDecimal(p.offeredRps)} | ${
        formatDecimal(p.loadRps)
      } | ${formatPercent(p.attainment)} | ${formatDecimal(p.goodputRps)} | ${
        formatDecimal(p.throughputRps)
      } | ${pair(p.ttftP50Ms, p.ttftP99Ms)} | ${
        pair(p.tpotP50Ms, p.tpotP99Ms)
      } | ${pair(p.e2eP50Ms, p.e2eP99Ms)} |`,
    );
  }
  return out;
}
